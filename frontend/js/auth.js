// Session handling over amazon-cognito-identity-js: the SDK keeps the tokens; we ask it for fresh ones.

/** Seconds before the ID token's expiry at which we refresh it (the page may stay open for hours). */
export const REFRESH_MARGIN_SECONDS = 300;

const SIGNIN_PAGE = "login.html";

/** Promise wrapper over CognitoUser.getSession (which itself refreshes an expired session). */
export function getSession(user) {
  return new Promise((resolve, reject) => {
    user.getSession((err, session) => (err ? reject(err) : resolve(session)));
  });
}

/** Promise wrapper over CognitoUser.refreshSession with the session's refresh token. */
export function refreshSession(user, session) {
  return new Promise((resolve, reject) => {
    user.refreshSession(session.getRefreshToken(), (err, fresh) => (err ? reject(err) : resolve(fresh)));
  });
}

/** Seconds until the session's ID token expires (clock drift as the SDK measured it). */
export function secondsLeft(session) {
  const now = Math.floor(Date.now() / 1000) - session.getClockDrift();
  return session.getIdToken().getExpiration() - now;
}

/**
 * Keeps one user's session fresh while the page is open: `idToken()` returns a raw ID token valid for at least
 * a minute, refreshing first when needed; a timer refreshes REFRESH_MARGIN_SECONDS before expiry.
 */
export class SessionKeeper {
  constructor(user, session) {
    this.user = user;
    this.session = session;
    this.timer = null;
    this.inflight = null;
    this.schedule();
    // Timers sleep with a background tab or a closed laptop lid: check again when the page is seen.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.idToken().catch(() => {});
    });
  }

  get username() {
    return this.user.getUsername();
  }

  /** The ID token's claims (for the "signed in as" line). */
  claims() {
    return this.session.getIdToken().decodePayload();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = Math.max(5, secondsLeft(this.session) - REFRESH_MARGIN_SECONDS);
    this.timer = setTimeout(() => this.refresh().catch(() => {}), wait * 1000);
  }

  /** Refresh now (one request at a time, however many callers). */
  refresh() {
    if (!this.inflight) {
      this.inflight = refreshSession(this.user, this.session)
        .then((fresh) => {
          this.session = fresh;
          this.schedule();
          return fresh;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  /** A raw ID token with at least 60 s left. */
  async idToken() {
    if (secondsLeft(this.session) < 60) await this.refresh();
    return this.session.getIdToken().getJwtToken();
  }

  stop() {
    clearTimeout(this.timer);
  }
}

/** The signed-in user's kept session, or null when there is none (or it cannot be refreshed). */
export async function restoreSession(pool) {
  const user = pool.getCurrentUser();
  if (!user) return null;
  try {
    const session = await getSession(user);
    if (!session.isValid()) return null;
    return new SessionKeeper(user, session);
  } catch (error) {
    console.info("No usable session:", error && error.code);
    return null;
  }
}

/** Go to the sign-in page; `reason` (expired, signedout) lets it explain why. */
export function goToSignIn(reason) {
  const target = new URL(SIGNIN_PAGE, document.baseURI);
  if (reason) target.searchParams.set("reason", reason);
  window.location.replace(target.href);
}

/**
 * Sign out on every device (Cognito GlobalSignOut revokes the refresh tokens), then forget the local tokens.
 * If the global call fails (offline, or already revoked), the local sign-out still happens.
 */
export function signOutEverywhere(user) {
  return new Promise((resolve) => {
    user.globalSignOut({
      onSuccess: () => resolve(true),
      onFailure: (err) => {
        console.warn("Global sign-out failed; signing out on this device only:", err && err.code);
        user.signOut();
        resolve(false);
      },
    });
  });
}

/** Plain words for a Cognito error, chosen by its error code (never by its message text). */
export function authErrorMessage(err) {
  const code = (err && (err.code || err.name)) || "";
  switch (code) {
    case "NotAuthorizedException":
      return "That username and password don't match. Check them and try again.";
    case "UserNotFoundException":
      return "There's no account with that username. Check the spelling, or create an account.";
    case "UserNotConfirmedException":
      return "This account isn't confirmed yet. Enter the code we emailed you to finish setting it up.";
    case "UsernameExistsException":
      return "That username is taken. Pick another one, or sign in if it's yours.";
    case "InvalidPasswordException":
      return "That password doesn't meet the rules listed below the field.";
    case "CodeMismatchException":
      return "That code isn't right. Check the latest email, or ask for a new code.";
    case "ExpiredCodeException":
      return "That code has expired. Ask for a new code and try again.";
    case "LimitExceededException":
    case "TooManyRequestsException":
    case "TooManyFailedAttemptsException":
      return "Too many attempts. Wait a few minutes, then try again.";
    case "PasswordResetRequiredException":
      return "You need to reset your password before signing in. Use \"Forgot password?\".";
    case "InvalidParameterException":
      return "Some details aren't valid. Check the username and email address.";
    case "CodeDeliveryFailureException":
      return "We couldn't send the code. Check the email address and try again.";
    case "NetworkError":
      return "Can't reach the sign-in service. Check your connection and try again.";
    default:
      return "Something went wrong while talking to the sign-in service. Please try again.";
  }
}
