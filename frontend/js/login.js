// login.html: sign in, create account, confirm with a code, reset a forgotten password (Cognito via the SDK).

import { authErrorMessage, restoreSession } from "./auth.js";
import { createUserPool, loadConfig, mailboxUrl } from "./config.js";
import { byId, setMessage } from "./dom.js";
import { hasDraft } from "./draft.js";
import { attachChecklist, passwordOk } from "./password.js";

const TRACKER_PAGE = "tracker.html";

const VIEWS = {
  signin: { title: "Sign in", lead: "Welcome back. Sign in to see your expenses.", focus: "signin-username" },
  signup: { title: "Create your account", lead: "Track where your money goes, in seconds.", focus: "signup-username" },
  confirm: { title: "Confirm your account", lead: "Enter the code we emailed you.", focus: "confirm-code" },
  forgot: { title: "Reset your password", lead: "Enter your username and we'll email you a code.", focus: "forgot-username" },
  reset: { title: "Choose a new password", lead: "Enter the code we emailed you.", focus: "reset-code" },
};

const state = { pool: null, view: "signin", pendingPassword: null, resetUser: null };

const ui = {
  title: byId("auth-title"),
  lead: byId("auth-lead"),
  info: byId("auth-info"),
  error: byId("auth-error"),
  errorAction: byId("auth-error-action"),
};

function SDK() {
  return window.AmazonCognitoIdentity;
}

function showError(message, { confirmAction = false } = {}) {
  setMessage(ui.error, message);
  ui.errorAction.hidden = !confirmAction;
}

function showInfo(message) {
  setMessage(ui.info, message);
}

function clearNotices() {
  showError("");
  showInfo("");
}

function showView(name, { lead, keepNotices = false } = {}) {
  state.view = name;
  for (const form of document.querySelectorAll("form[data-view]")) form.hidden = form.dataset.view !== name;
  ui.title.textContent = VIEWS[name].title;
  ui.lead.textContent = lead || VIEWS[name].lead;
  document.title = `${VIEWS[name].title} · Expense Tracker`;
  if (!keepNotices) clearNotices();
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  byId(VIEWS[name].focus).focus();
}

/** Mark a field invalid, say why, and put the cursor there. Returns false (for `return invalid(...)`). */
function invalid(inputId, message) {
  const input = byId(inputId);
  input.setAttribute("aria-invalid", "true");
  showError(message);
  input.focus();
  return false;
}

function value(id) {
  return byId(id).value.trim();
}

/** Run `work` with the form's submit button disabled and relabelled; errors are shown in plain words. */
async function busy(buttonId, label, work) {
  const button = byId(buttonId);
  const original = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = label;
  try {
    await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = original;
  }
}

function cognitoUser(username) {
  return new (SDK().CognitoUser)({ Username: username, Pool: state.pool });
}

function goToTracker() {
  window.location.replace(new URL(TRACKER_PAGE, document.baseURI).href);
}

function signIn(username, password) {
  return new Promise((resolve, reject) => {
    const details = new (SDK().AuthenticationDetails)({ Username: username, Password: password });
    cognitoUser(username).authenticateUser(details, {
      onSuccess: resolve,
      onFailure: reject,
      newPasswordRequired: () => reject({ code: "PasswordResetRequiredException" }),
      mfaRequired: () => reject({ code: "MfaUnsupported" }),
      totpRequired: () => reject({ code: "MfaUnsupported" }),
    });
  });
}

async function onSignIn(event) {
  event.preventDefault();
  clearNotices();
  const username = value("signin-username");
  const password = byId("signin-password").value;
  if (!username) return invalid("signin-username", "Enter your username.");
  if (!password) return invalid("signin-password", "Enter your password.");
  await busy("signin-submit", "Signing in…", async () => {
    try {
      await signIn(username, password);
      goToTracker();
    } catch (err) {
      if (err && err.code === "UserNotConfirmedException") {
        state.pendingPassword = password;
        byId("confirm-username").value = username;
        showError(authErrorMessage(err), { confirmAction: true });
        return;
      }
      showError(authErrorMessage(err));
      byId("signin-password").select();
    }
  });
  return true;
}

async function onSignUp(event) {
  event.preventDefault();
  clearNotices();
  const username = value("signup-username");
  const email = value("signup-email");
  const password = byId("signup-password").value;
  if (!username) return invalid("signup-username", "Choose a username.");
  if (/\s/.test(username)) return invalid("signup-username", "Usernames can't contain spaces.");
  if (!email || !byId("signup-email").checkValidity()) {
    return invalid("signup-email", "Enter a valid email address, like name@example.com.");
  }
  if (!passwordOk(password)) return invalid("signup-password", "Your password doesn't meet every rule yet.");
  await busy("signup-submit", "Creating account…", async () => {
    const attributes = [new (SDK().CognitoUserAttribute)({ Name: "email", Value: email })];
    try {
      const result = await new Promise((resolve, reject) => {
        // No validation data: an empty list rather than the SDK's null, the shape every Cognito accepts.
        state.pool.signUp(username, password, attributes, [], (err, res) => (err ? reject(err) : resolve(res)));
      });
      state.pendingPassword = password;
      byId("confirm-username").value = username;
      if (result.userConfirmed) {
        await signIn(username, password);
        goToTracker();
        return;
      }
      const destination = result.codeDeliveryDetails && result.codeDeliveryDetails.Destination;
      showView("confirm", {
        lead: destination ? `We emailed a code to ${destination}. Enter it below.` : VIEWS.confirm.lead,
      });
    } catch (err) {
      showError(authErrorMessage(err));
      if (err && err.code === "UsernameExistsException") byId("signup-username").focus();
    }
  });
  return true;
}

async function onConfirm(event) {
  event.preventDefault();
  clearNotices();
  const username = value("confirm-username");
  const code = value("confirm-code");
  if (!username) return invalid("confirm-username", "Enter your username.");
  if (!code) return invalid("confirm-code", "Enter the code from the email.");
  await busy("confirm-submit", "Confirming…", async () => {
    try {
      await new Promise((resolve, reject) => {
        cognitoUser(username).confirmRegistration(code, true, (err, res) => (err ? reject(err) : resolve(res)));
      });
    } catch (err) {
      showError(authErrorMessage(err));
      return;
    }
    if (state.pendingPassword) {
      showInfo("Account confirmed. Signing you in…");
      try {
        await signIn(username, state.pendingPassword);
        goToTracker();
        return;
      } catch (err) {
        console.info("Automatic sign-in after confirmation failed:", err && err.code);
      }
    }
    byId("signin-username").value = username;
    showView("signin");
    showInfo("Your account is confirmed. Sign in to start tracking.");
    byId("signin-password").focus();
  });
  return true;
}

async function onResend() {
  clearNotices();
  const username = value("confirm-username");
  if (!username) return invalid("confirm-username", "Enter your username first.");
  const button = byId("resend-code");
  button.disabled = true;
  try {
    const result = await new Promise((resolve, reject) => {
      cognitoUser(username).resendConfirmationCode((err, res) => (err ? reject(err) : resolve(res)));
    });
    const destination = result && result.CodeDeliveryDetails && result.CodeDeliveryDetails.Destination;
    showInfo(destination ? `We sent a new code to ${destination}.` : "We sent a new code.");
  } catch (err) {
    showError(authErrorMessage(err));
  } finally {
    button.disabled = false;
  }
  return true;
}

async function onForgot(event) {
  event.preventDefault();
  clearNotices();
  const username = value("forgot-username");
  if (!username) return invalid("forgot-username", "Enter your username.");
  await busy("forgot-submit", "Sending…", async () => {
    const user = cognitoUser(username);
    try {
      const details = await new Promise((resolve, reject) => {
        user.forgotPassword({
          onSuccess: resolve,
          onFailure: reject,
          inputVerificationCode: resolve,
        });
      });
      state.resetUser = user;
      const destination = details && details.CodeDeliveryDetails && details.CodeDeliveryDetails.Destination;
      showView("reset", {
        lead: destination ? `We emailed a code to ${destination}. Enter it with your new password.` : undefined,
      });
    } catch (err) {
      showError(authErrorMessage(err));
    }
  });
  return true;
}

async function onReset(event) {
  event.preventDefault();
  clearNotices();
  const code = value("reset-code");
  const password = byId("reset-password").value;
  if (!code) return invalid("reset-code", "Enter the code from the email.");
  if (!passwordOk(password)) return invalid("reset-password", "Your new password doesn't meet every rule yet.");
  await busy("reset-submit", "Saving…", async () => {
    try {
      await new Promise((resolve, reject) => {
        state.resetUser.confirmPassword(code, password, { onSuccess: resolve, onFailure: reject });
      });
      byId("signin-username").value = state.resetUser.getUsername();
      byId("signin-password").value = "";
      showView("signin");
      showInfo("Your password is changed. Sign in with the new one.");
      byId("signin-password").focus();
    } catch (err) {
      showError(authErrorMessage(err));
    }
  });
  return true;
}

function wire() {
  byId("signin-form").addEventListener("submit", onSignIn);
  byId("signup-form").addEventListener("submit", onSignUp);
  byId("confirm-form").addEventListener("submit", onConfirm);
  byId("forgot-form").addEventListener("submit", onForgot);
  byId("reset-form").addEventListener("submit", onReset);
  byId("resend-code").addEventListener("click", onResend);
  byId("goto-confirm").addEventListener("click", () => showView("confirm"));
  for (const button of document.querySelectorAll("[data-goto]")) {
    button.addEventListener("click", () => {
      const target = button.dataset.goto;
      const typed = document.querySelector(`form[data-view="${state.view}"] input[name="username"]`);
      const targetUsername = document.querySelector(`form[data-view="${target}"] input[name="username"]`);
      if (typed && targetUsername && !targetUsername.value) targetUsername.value = typed.value.trim();
      showView(target);
    });
  }
  for (const input of document.querySelectorAll("input")) {
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  }
  attachChecklist(byId("signup-password"), byId("signup-rules"));
  attachChecklist(byId("reset-password"), byId("reset-rules"));
}

async function main() {
  wire();
  const params = new URLSearchParams(window.location.search);
  let cfg;
  try {
    cfg = await loadConfig();
    state.pool = createUserPool(cfg);
  } catch (error) {
    console.error(error);
    showError("The app isn't set up correctly (config.json could not be read). Please try again later.");
    for (const button of document.querySelectorAll("button[type=submit]")) button.disabled = true;
    return;
  }
  const mailbox = mailboxUrl(cfg);
  if (mailbox) {
    byId("mailbox-link").href = mailbox;
    byId("mailbox-hint").hidden = false;
  }
  const reason = params.get("reason");
  if (reason !== "expired" && (await restoreSession(state.pool))) {
    goToTracker();
    return;
  }
  if (params.get("view") === "signup") showView("signup");
  if (reason === "expired") {
    showInfo(
      hasDraft()
        ? "Your session ended. Sign in again and the expense you were typing will be waiting."
        : "Your session ended. Please sign in again.",
    );
  } else if (reason === "signedout") {
    showInfo("You're signed out. See you soon.");
  }
}

main();
