// Keeps what the user typed across a forced sign-in: saved to sessionStorage, restored once after sign-in.

const KEY = "expenseTracker.draft";

/** Save the unsaved form fields (and the pending Idempotency-Key, so a retry cannot store twice). */
export function saveDraft(draft) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ ...draft, savedAt: Date.now() }));
  } catch (error) {
    console.warn("Could not keep the unsaved form:", error);
  }
}

/** The saved draft (removed from storage), or null. */
export function takeDraft() {
  const text = sessionStorage.getItem(KEY);
  if (!text) return null;
  sessionStorage.removeItem(KEY);
  try {
    const draft = JSON.parse(text);
    return draft && typeof draft === "object" ? draft : null;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return null;
  }
}

/** Is a draft waiting (without taking it)? */
export function hasDraft() {
  return sessionStorage.getItem(KEY) !== null;
}
