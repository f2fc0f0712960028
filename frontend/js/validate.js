// Client-side checks of an expense, mirroring the API's rules (api/openapi.yaml ExpenseInput), in plain words.

const AMOUNT = /^[0-9]{1,10}(\.[0-9]{1,3})?$/;
const CURRENCY = /^[A-Za-z]{3}$/;
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function realDate(text) {
  if (!DATE.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Check raw form values. Returns {input, errors}: `input` is the request body (amount kept as a decimal
 * string so no floating-point rounding happens in the browser), `errors` maps a field name to a message.
 */
export function validateExpense(values) {
  const errors = {};
  // A comma as the only separator is a decimal comma ("12,50"), as typed in much of the world.
  let amount = (values.amount || "").trim().replace(/\s/g, "");
  if (/^\d+,\d{1,3}$/.test(amount)) amount = amount.replace(",", ".");
  if (!amount) errors.amount = "Enter an amount, like 12.50.";
  else if (!AMOUNT.test(amount)) errors.amount = "Use digits only, with up to 3 decimals, like 12.50.";
  else if (Number(amount) <= 0) errors.amount = "The amount must be more than zero.";
  else if (Number(amount) > 1_000_000_000) errors.amount = "The amount can be at most 1,000,000,000.";

  const currency = (values.currency || "").trim().toUpperCase();
  if (!CURRENCY.test(currency)) errors.currency = "Use a 3-letter code, like USD.";

  const category = (values.category || "").trim();
  if (!category) errors.category = "Enter a category, like Groceries.";
  else if (category.length > 50) errors.category = "Keep the category under 50 characters.";

  const date = (values.date || "").trim();
  if (!realDate(date)) errors.date = "Pick a date.";

  const account = (values.account || "").trim();
  if (!ACCOUNT.test(account)) {
    errors.account = "Use up to 32 letters, numbers, - or _ (starting with a letter or number).";
  }

  const description = (values.description || "").trim();
  if (description.length > 500) errors.description = "Keep the description under 500 characters.";

  return { input: { amount, currency, category, date, account, description }, errors };
}
