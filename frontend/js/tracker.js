// tracker.html: add, list, filter, edit and delete expenses; summary charts; CSV export; session upkeep.

import { ApiClient } from "./api.js";
import { goToSignIn, restoreSession, signOutEverywhere } from "./auth.js";
import { drawCategoryChart, drawTrendChart } from "./charts.js";
import { apiBase, createUserPool, loadConfig } from "./config.js";
import { byId, clear, el, setMessage } from "./dom.js";
import { saveDraft, takeDraft } from "./draft.js";
import { dayLabel, money, moneyTotals, monthEnd, monthStart, newIdempotencyKey, today } from "./format.js";
import { validateExpense } from "./validate.js";

const PAGE_SIZE = 20;
const DEFAULT_ACCOUNT = "main";
const STARTER_CATEGORIES = ["Groceries", "Eating out", "Transport", "Rent", "Utilities", "Health", "Fun"];

const state = {
  keeper: null,
  api: null,
  filters: { from: "", to: "", category: "", account: DEFAULT_ACCOUNT },
  nextToken: null,
  listGeneration: 0,
  expenses: new Map(),
  categories: new Set(),
  accounts: new Set([DEFAULT_ACCOUNT]),
  saving: false,
  pending: null, // {key, body}: the Idempotency-Key of an unfinished submission of exactly this body
  editing: null, // expenseId being edited in place
  pendingEditDraft: null,
  redirecting: false,
};

// ---------- storage of small preferences ----------

function prefKey(name) {
  return `expenseTracker.${name}.${state.keeper ? state.keeper.username : "anon"}`;
}

function loadPrefs() {
  try {
    for (const account of JSON.parse(localStorage.getItem(prefKey("accounts")) || "[]")) state.accounts.add(account);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
}

function rememberAccount(account) {
  if (state.accounts.has(account)) return;
  state.accounts.add(account);
  localStorage.setItem(prefKey("accounts"), JSON.stringify([...state.accounts]));
  renderAccountOptions();
}

function preferredCurrency() {
  return localStorage.getItem(prefKey("currency")) || "USD";
}

// ---------- shared UI ----------

let toastTimer = null;
function toast(message) {
  const node = byId("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 3500);
}

/** A 401 that a refresh could not fix: keep what was typed, then sign in again. */
function handleUnauthorized() {
  if (state.redirecting) return;
  state.redirecting = true;
  const draft = { add: readAddForm(), pendingKey: state.pending, filters: state.filters };
  if (state.editing) draft.edit = { expenseId: state.editing, fields: readEditForm(state.editing) };
  saveDraft(draft);
  goToSignIn("expired");
}

/** Route an error: 401 -> sign in again (returns true); else the caller shows error.message. */
function unauthorized(error) {
  if (error && error.status === 401) {
    handleUnauthorized();
    return true;
  }
  return false;
}

function messageOf(error) {
  if (error && typeof error.status === "number") return error.message;
  console.error(error);
  return "Something unexpected went wrong. Please try again.";
}

function renderAccountOptions() {
  const select = byId("filter-account");
  const accounts = [...state.accounts].sort((a, b) =>
    a === DEFAULT_ACCOUNT ? -1 : b === DEFAULT_ACCOUNT ? 1 : a.localeCompare(b),
  );
  clear(select).append(...accounts.map((account) => el("option", { value: account, text: account })));
  select.value = state.filters.account;
  clear(byId("account-options")).append(...accounts.map((account) => el("option", { value: account })));
}

function addCategories(names) {
  let changed = false;
  for (const name of names) {
    if (name && !state.categories.has(name)) {
      state.categories.add(name);
      changed = true;
    }
  }
  if (changed || byId("category-options").childElementCount === 0) {
    const list = state.categories.size ? [...state.categories] : STARTER_CATEGORIES;
    clear(byId("category-options")).append(
      ...list.sort((a, b) => a.localeCompare(b)).map((name) => el("option", { value: name })),
    );
  }
}

// ---------- the add form ----------

const ADD_FIELDS = ["amount", "currency", "category", "date", "account", "description"];

function readAddForm() {
  return Object.fromEntries(ADD_FIELDS.map((name) => [name, byId(`add-${name}`).value]));
}

function fillAddForm(values) {
  for (const name of ADD_FIELDS) {
    if (typeof values[name] === "string") byId(`add-${name}`).value = values[name];
  }
}

function resetAddForm() {
  const account = byId("add-account").value.trim() || state.filters.account;
  const currency = byId("add-currency").value.trim().toUpperCase() || preferredCurrency();
  byId("add-form").reset();
  fillAddForm({ date: today(), account, currency });
}

function showFieldErrors(prefix, errors) {
  let first = null;
  for (const name of ADD_FIELDS) {
    const input = document.getElementById(`${prefix}-${name}`);
    const box = document.getElementById(`${prefix}-${name}-error`);
    if (!input) continue;
    const message = errors[name];
    if (message) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      input.removeAttribute("aria-invalid");
    }
    if (box) setMessage(box, message || "");
  }
  return first;
}

async function onAdd(event) {
  event.preventDefault();
  if (state.saving) return; // a second click or Enter while saving stores nothing twice
  setMessage(byId("add-error"), "");
  const { input, errors } = validateExpense(readAddForm());
  const firstInvalid = showFieldErrors("add", errors);
  if (firstInvalid) {
    firstInvalid.focus();
    return;
  }
  const body = JSON.stringify(input);
  // Same body as an unfinished attempt (a retry after an error) -> same key, so the server stores it once.
  if (!state.pending || state.pending.body !== body) state.pending = { key: newIdempotencyKey(), body };
  const button = byId("add-submit");
  state.saving = true;
  button.disabled = true;
  button.textContent = "Saving…";
  try {
    const result = await state.api.addExpense(input, state.pending.key);
    state.pending = null;
    localStorage.setItem(prefKey("currency"), input.currency);
    rememberAccount(input.account);
    addCategories([input.category]);
    resetAddForm();
    setMessage(byId("draft-notice"), "");
    toast(`Added ${money(result.expense.amount, result.expense.currency)} for ${result.expense.category}.`);
    byId("add-amount").focus();
    if (input.account !== state.filters.account) {
      state.filters.account = input.account;
      renderAccountOptions();
    }
    reloadAll();
  } catch (error) {
    if (unauthorized(error)) return;
    setMessage(byId("add-error"), messageOf(error));
  } finally {
    state.saving = false;
    button.disabled = false;
    button.textContent = "Add expense";
  }
}

// ---------- the list ----------

function setListState(name) {
  for (const part of ["loading", "error", "empty"]) byId(`list-${part}`).hidden = part !== name;
  byId("list-region").setAttribute("aria-busy", String(name === "loading"));
}

function filtersActive() {
  return Boolean(state.filters.from || state.filters.to || state.filters.category);
}

function renderEmpty() {
  const filtered = filtersActive();
  byId("list-empty-title").textContent = filtered ? "Nothing matches these filters" : "No expenses yet";
  byId("list-empty-text").textContent = filtered
    ? "Try a wider date range or another category."
    : state.filters.account === DEFAULT_ACCOUNT
      ? "Add your first one with the form. It takes a few seconds."
      : `The “${state.filters.account}” account has no expenses yet.`;
  byId("list-empty-clear").hidden = !filtered;
  setListState("empty");
}

function expenseRow(expense) {
  const editButton = el("button", {
    type: "button",
    class: "button button-ghost button-small",
    text: "Edit",
    "aria-label": `Edit ${expense.category} expense of ${money(expense.amount, expense.currency)}`,
    onclick: () => startEdit(expense.expenseId),
  });
  const deleteButton = el("button", {
    type: "button",
    class: "button button-ghost button-small button-ghost-danger",
    text: "Delete",
    "aria-label": `Delete ${expense.category} expense of ${money(expense.amount, expense.currency)}`,
    onclick: () => confirmDelete(expense.expenseId),
  });
  return el(
    "li",
    { class: "expense", dataset: { id: expense.expenseId } },
    el(
      "div",
      { class: "expense-main" },
      el(
        "div",
        { class: "expense-line" },
        el("span", { class: "chip", text: expense.category }),
        el("span", { class: "expense-desc", text: expense.description || "" }),
      ),
      el("div", { class: "expense-meta" }, el("time", { datetime: expense.date, text: dayLabel(expense.date) })),
    ),
    el("div", { class: "expense-amount", text: money(expense.amount, expense.currency) }),
    el("div", { class: "expense-actions" }, editButton, deleteButton),
  );
}

function appendExpenses(expenses) {
  const list = byId("expense-list");
  for (const expense of expenses) {
    state.expenses.set(expense.expenseId, expense);
    list.append(expenseRow(expense));
  }
  addCategories(expenses.map((expense) => expense.category));
}

async function loadList({ more = false } = {}) {
  const generation = more ? state.listGeneration : ++state.listGeneration;
  const moreButton = byId("load-more");
  setMessage(byId("load-more-error"), "");
  if (more) {
    moreButton.disabled = true;
    moreButton.textContent = "Loading…";
  } else {
    state.nextToken = null;
    state.expenses.clear();
    state.editing = null;
    clear(byId("expense-list"));
    moreButton.hidden = true;
    setListState("loading");
  }
  try {
    const page = await state.api.listExpenses(state.filters, more ? state.nextToken : null, PAGE_SIZE);
    if (generation !== state.listGeneration) return; // the filters changed meanwhile
    appendExpenses(page.expenses);
    state.nextToken = page.nextToken || null;
    if (state.expenses.size === 0) renderEmpty();
    else setListState(null);
    moreButton.hidden = !state.nextToken;
    restoreEditDraft();
  } catch (error) {
    if (generation !== state.listGeneration || unauthorized(error)) return;
    if (more) {
      setMessage(byId("load-more-error"), `${messageOf(error)} Press “Load more” to try again.`);
    } else {
      byId("list-error-text").textContent = messageOf(error);
      setListState("error");
    }
  } finally {
    moreButton.disabled = false;
    moreButton.textContent = "Load more";
  }
}

// ---------- edit in place ----------

const EDIT_FIELDS = [
  { name: "amount", label: "Amount", attrs: { inputmode: "decimal", autocomplete: "off" } },
  { name: "currency", label: "Currency", attrs: { list: "currency-options", maxlength: "3", autocomplete: "off" } },
  { name: "category", label: "Category", attrs: { list: "category-options", maxlength: "50", autocomplete: "off" } },
  { name: "date", label: "Date", attrs: { type: "date" } },
  { name: "description", label: "Description", attrs: { maxlength: "500", autocomplete: "off" } },
];

function readEditForm(expenseId) {
  const form = document.querySelector(`form[data-edit="${CSS.escape(expenseId)}"]`);
  if (!form) return null;
  return Object.fromEntries(EDIT_FIELDS.map(({ name }) => [name, form.elements[name].value]));
}

function rowOf(expenseId) {
  return document.querySelector(`#expense-list li[data-id="${CSS.escape(expenseId)}"]`);
}

function startEdit(expenseId, values) {
  if (state.editing && state.editing !== expenseId) cancelEdit(state.editing);
  const expense = state.expenses.get(expenseId);
  const row = rowOf(expenseId);
  if (!expense || !row) return;
  state.editing = expenseId;
  const current = values || {
    amount: String(expense.amount),
    currency: expense.currency,
    category: expense.category,
    date: expense.date,
    description: expense.description || "",
  };
  const idBase = `edit-${expenseId}`;
  const fields = EDIT_FIELDS.map(({ name, label, attrs }) =>
    el(
      "div",
      { class: `field field-${name}` },
      el("label", { for: `${idBase}-${name}`, text: label }),
      el("input", { id: `${idBase}-${name}`, name, value: current[name], ...attrs }),
      el("p", { class: "field-error", id: `${idBase}-${name}-error`, hidden: true }),
    ),
  );
  const error = el("div", { class: "notice notice-error", role: "alert", hidden: true });
  const save = el("button", { type: "submit", class: "button button-primary button-small", text: "Save" });
  const cancel = el("button", {
    type: "button",
    class: "button button-ghost button-small",
    text: "Cancel",
    onclick: () => cancelEdit(expenseId),
  });
  const form = el(
    "form",
    { class: "edit-form", dataset: { edit: expenseId }, novalidate: true, "aria-label": "Edit expense" },
    el("div", { class: "edit-grid" }, ...fields),
    error,
    el("div", { class: "edit-actions" }, cancel, save),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(expenseId, form, error, save);
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancelEdit(expenseId);
  });
  row.classList.add("editing");
  row.replaceChildren(form);
  form.elements.amount.focus();
}

function cancelEdit(expenseId) {
  const expense = state.expenses.get(expenseId);
  const row = rowOf(expenseId);
  if (state.editing === expenseId) state.editing = null;
  if (!expense || !row) return;
  const fresh = expenseRow(expense);
  row.replaceWith(fresh);
  fresh.querySelector("button").focus();
}

async function saveEdit(expenseId, form, errorBox, button) {
  if (button.disabled) return;
  const expense = state.expenses.get(expenseId);
  setMessage(errorBox, "");
  const values = Object.fromEntries(EDIT_FIELDS.map(({ name }) => [name, form.elements[name].value]));
  const { input, errors } = validateExpense({ ...values, account: expense.account });
  const firstInvalid = showFieldErrors(`edit-${expenseId}`, errors);
  if (firstInvalid) {
    firstInvalid.focus();
    return;
  }
  button.disabled = true;
  button.textContent = "Saving…";
  try {
    const result = await state.api.updateExpense(expenseId, input);
    state.expenses.set(expenseId, result.expense);
    state.editing = null;
    addCategories([result.expense.category]);
    const fresh = expenseRow(result.expense);
    rowOf(expenseId).replaceWith(fresh);
    fresh.querySelector("button").focus();
    toast("Expense updated.");
    loadSummary();
  } catch (error) {
    if (unauthorized(error)) return;
    setMessage(errorBox, messageOf(error));
    button.disabled = false;
    button.textContent = "Save";
  }
}

function restoreEditDraft() {
  const draft = state.pendingEditDraft;
  if (!draft || !state.expenses.has(draft.expenseId)) return;
  state.pendingEditDraft = null;
  startEdit(draft.expenseId, draft.fields);
}

// ---------- delete ----------

function confirmDelete(expenseId) {
  const expense = state.expenses.get(expenseId);
  if (!expense) return;
  const dialog = byId("delete-dialog");
  const what = [money(expense.amount, expense.currency), expense.category, dayLabel(expense.date)].join(" · ");
  byId("delete-text").textContent = expense.description ? `${what} · ${expense.description}` : what;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "delete") deleteExpense(expenseId);
    else rowOf(expenseId)?.querySelector(".button-ghost-danger")?.focus();
  };
  dialog.showModal();
}

async function deleteExpense(expenseId) {
  const row = rowOf(expenseId);
  row?.classList.add("removing");
  try {
    await state.api.deleteExpense(expenseId);
    state.expenses.delete(expenseId);
    row?.remove();
    if (state.expenses.size === 0 && !state.nextToken) renderEmpty();
    toast("Expense deleted.");
    loadSummary();
  } catch (error) {
    row?.classList.remove("removing");
    if (unauthorized(error)) return;
    if (error.status === 404) {
      state.expenses.delete(expenseId);
      row?.remove();
    }
    toast(messageOf(error));
  }
}

// ---------- summary ----------

function renderCategoryTotals(summary) {
  const list = clear(byId("category-totals"));
  const rows = [...(summary.byCategory || [])].sort(
    (a, b) => Math.max(0, ...Object.values(b.totals)) - Math.max(0, ...Object.values(a.totals)),
  );
  for (const row of rows) {
    list.append(
      el(
        "li",
        {},
        el("span", { class: "totals-name", text: row.category }),
        el("span", { class: "totals-count", text: `${row.count} ×` }),
        el("span", { class: "totals-amount", text: moneyTotals(row.totals) }),
      ),
    );
  }
  addCategories(rows.map((row) => row.category));
}

async function loadSummary() {
  const account = state.filters.account;
  const monthName = new Date().toLocaleDateString(undefined, { month: "long" });
  byId("stat-month-name").textContent = monthName;
  setMessage(byId("summary-error"), "");
  try {
    const [month, year] = await Promise.all([
      state.api.summary({ from: monthStart(0), to: monthEnd(), account }),
      state.api.summary({ from: monthStart(-11), to: monthEnd(), account }),
    ]);
    if (account !== state.filters.account) return;
    const currency = preferredCurrency();
    byId("stat-month-total").textContent = moneyTotals(month.totals, currency);
    byId("stat-month-count").textContent =
      month.count === 1 ? "1 expense" : `${month.count} expenses${month.count ? "" : " so far"}`;
    const top = [...(month.byCategory || [])].sort(
      (a, b) => Math.max(0, ...Object.values(b.totals)) - Math.max(0, ...Object.values(a.totals)),
    )[0];
    byId("stat-top-category").textContent = top ? top.category : "—";
    byId("stat-top-amount").textContent = top ? moneyTotals(top.totals) : "Nothing yet";
    byId("stat-year-total").textContent = moneyTotals(year.totals, currency);
    const activeMonths = (year.byMonth || []).filter((row) => row.count > 0).length;
    byId("stat-year-avg").textContent = `${year.count} expense${year.count === 1 ? "" : "s"} in ${activeMonths} month${
      activeMonths === 1 ? "" : "s"
    }`;
    renderCategoryTotals(month);
    addCategories((year.byCategory || []).map((row) => row.category));
    const drawn = drawCategoryChart(byId("category-chart"), month);
    byId("category-chart-box").hidden = !drawn;
    byId("category-empty").hidden = drawn;
    drawTrendChart(byId("trend-chart"), year);
  } catch (error) {
    if (unauthorized(error)) return;
    setMessage(byId("summary-error"), `The summary couldn't be loaded: ${messageOf(error)}`);
  }
}

function reloadAll() {
  loadList();
  loadSummary();
}

// ---------- filters and export ----------

function onFilter(event) {
  event.preventDefault();
  const from = byId("filter-from").value;
  const to = byId("filter-to").value;
  if (from && to && from > to) {
    setMessage(byId("filter-error"), "The “From” date is after the “To” date.");
    byId("filter-from").setAttribute("aria-invalid", "true");
    byId("filter-from").focus();
    return;
  }
  byId("filter-from").removeAttribute("aria-invalid");
  setMessage(byId("filter-error"), "");
  const accountChanged = byId("filter-account").value !== state.filters.account;
  state.filters = {
    from,
    to,
    category: byId("filter-category").value.trim(),
    account: byId("filter-account").value || DEFAULT_ACCOUNT,
  };
  if (accountChanged) byId("add-account").value = state.filters.account;
  loadList();
  if (accountChanged) loadSummary();
}

function clearFilters() {
  byId("filter-from").value = "";
  byId("filter-to").value = "";
  byId("filter-category").value = "";
  byId("filter-form").requestSubmit();
}

function fillFilters() {
  byId("filter-from").value = state.filters.from || "";
  byId("filter-to").value = state.filters.to || "";
  byId("filter-category").value = state.filters.category || "";
  renderAccountOptions();
}

async function onExport() {
  const button = byId("export-csv");
  button.disabled = true;
  byId("export-status").textContent = "Preparing your CSV…";
  try {
    const blob = await state.api.exportCsv(state.filters);
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: `expenses-${state.filters.account}-${today()}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    byId("export-status").textContent = "Your CSV is downloading.";
  } catch (error) {
    if (unauthorized(error)) return;
    toast(`Export failed: ${messageOf(error)}`);
  } finally {
    button.disabled = false;
  }
}

// ---------- start ----------

function restoreDraft() {
  const draft = takeDraft();
  if (!draft) return;
  if (draft.filters && typeof draft.filters === "object") {
    state.filters = { ...state.filters, ...draft.filters };
    if (draft.filters.account) state.accounts.add(draft.filters.account);
  }
  if (draft.add && typeof draft.add === "object") {
    fillAddForm(draft.add);
    if (draft.add.account) state.accounts.add(draft.add.account.trim());
    if (Object.values(draft.add).some((v) => typeof v === "string" && v.trim() && v !== today())) {
      setMessage(byId("draft-notice"), "We kept what you were typing. Check it and press “Add expense”.");
    }
  }
  if (draft.pendingKey && typeof draft.pendingKey.key === "string") state.pending = draft.pendingKey;
  if (draft.edit && draft.edit.expenseId && draft.edit.fields) state.pendingEditDraft = draft.edit;
}

function showUser() {
  const claims = state.keeper.claims();
  const name = claims["cognito:username"] || state.keeper.username;
  byId("user-name").textContent = name;
  byId("user-avatar").textContent = name.slice(0, 1).toUpperCase();
  if (claims.email && claims.email.includes("@")) byId("user-name").title = claims.email;
}

function wire() {
  byId("add-form").addEventListener("submit", onAdd);
  byId("filter-form").addEventListener("submit", onFilter);
  byId("filter-account").addEventListener("change", () => byId("filter-form").requestSubmit());
  byId("filter-clear").addEventListener("click", clearFilters);
  byId("list-empty-clear").addEventListener("click", clearFilters);
  byId("list-retry").addEventListener("click", () => loadList());
  byId("load-more").addEventListener("click", () => loadList({ more: true }));
  byId("export-csv").addEventListener("click", onExport);
  byId("add-currency").addEventListener("blur", (event) => {
    event.target.value = event.target.value.trim().toUpperCase();
  });
  for (const input of byId("add-form").querySelectorAll("input")) {
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      const box = document.getElementById(`${input.id}-error`);
      if (box) setMessage(box, "");
    });
  }
  byId("signout").addEventListener("click", async () => {
    byId("signout").disabled = true;
    sessionStorage.clear();
    await signOutEverywhere(state.keeper.user);
    state.keeper.stop();
    goToSignIn("signedout");
  });
}

async function main() {
  let cfg;
  let pool;
  try {
    cfg = await loadConfig();
    pool = createUserPool(cfg);
  } catch (error) {
    console.error(error);
    byId("page-loading").textContent =
      "The app isn't set up correctly (config.json could not be read). Please try again later.";
    return;
  }
  state.keeper = await restoreSession(pool);
  if (!state.keeper) {
    goToSignIn();
    return;
  }
  state.api = new ApiClient(apiBase(cfg), state.keeper);
  loadPrefs();
  showUser();
  wire();
  resetAddForm();
  byId("add-account").value = DEFAULT_ACCOUNT;
  restoreDraft();
  fillFilters();
  addCategories([]);
  byId("page-loading").hidden = true;
  byId("app").hidden = false;
  document.body.dataset.state = "ready";
  reloadAll();
}

main();
