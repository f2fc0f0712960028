// The user pool's password policy as a live checklist, so people see the rules before Cognito refuses them.

// For parity with the pool's policy (MinimumLength 6, RequireNumbers/Symbols/Uppercase/Lowercase). Cognito's
// symbol set is ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _ ~ ` = + - and the space.
const SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

export const PASSWORD_RULES = [
  { id: "length", label: "At least 6 characters", test: (pw) => pw.length >= 6 },
  { id: "number", label: "A number", test: (pw) => /[0-9]/.test(pw) },
  { id: "symbol", label: "A symbol (such as ! @ # $ %)", test: (pw) => [...pw].some((c) => SYMBOLS.includes(c)) },
  { id: "upper", label: "An uppercase letter", test: (pw) => /[A-Z]/.test(pw) },
  { id: "lower", label: "A lowercase letter", test: (pw) => /[a-z]/.test(pw) },
];

/** Every rule with whether `password` meets it. */
export function checkPassword(password) {
  return PASSWORD_RULES.map((rule) => ({ id: rule.id, label: rule.label, ok: rule.test(password) }));
}

/** True when the password meets every rule. */
export function passwordOk(password) {
  return checkPassword(password).every((rule) => rule.ok);
}

/** Keep the <ul> `list` in step with `input` on every keystroke; items carry data-ok="true|false". */
export function attachChecklist(input, list) {
  list.replaceChildren(
    ...PASSWORD_RULES.map((rule) => {
      const item = document.createElement("li");
      item.dataset.rule = rule.id;
      item.dataset.ok = "false";
      const state = document.createElement("span");
      state.className = "visually-hidden";
      item.append(state, document.createTextNode(rule.label));
      return item;
    }),
  );
  const update = () => {
    for (const result of checkPassword(input.value)) {
      const item = list.querySelector(`[data-rule="${result.id}"]`);
      item.dataset.ok = String(result.ok);
      item.firstChild.textContent = result.ok ? "Done: " : "Missing: ";
    }
  };
  input.addEventListener("input", update);
  update();
  return update;
}
