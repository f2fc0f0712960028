// Reads config.json (the only thing that differs between the dev server and AWS) and builds the Cognito pool.

let configPromise = null;

/** config.json next to the page: {region, userPoolId, clientId, cognitoEndpoint, apiUrl}; fetched once. */
export function loadConfig() {
  if (!configPromise) {
    configPromise = fetch(new URL("config.json", document.baseURI), { cache: "no-store" }).then(async (res) => {
      if (!res.ok) throw new Error(`config.json answered HTTP ${res.status}`);
      const cfg = await res.json();
      for (const key of ["userPoolId", "clientId", "apiUrl"]) {
        if (!cfg[key]) throw new Error(`config.json has no "${key}"`);
      }
      return cfg;
    });
  }
  return configPromise;
}

/**
 * The Cognito user pool of this deployment. A null/absent cognitoEndpoint leaves the SDK on its default
 * (https://cognito-idp.<region>.amazonaws.com/); the dev server sets it to its local Cognito.
 */
export function createUserPool(cfg) {
  const data = { UserPoolId: cfg.userPoolId, ClientId: cfg.clientId };
  if (cfg.cognitoEndpoint) data.endpoint = new URL(cfg.cognitoEndpoint, document.baseURI).href;
  return new window.AmazonCognitoIdentity.CognitoUserPool(data);
}

/** The dev server's mailbox of confirmation codes, or null on AWS (no local Cognito endpoint). */
export function mailboxUrl(cfg) {
  if (!cfg.cognitoEndpoint) return null;
  return new URL("/_dev/mailbox", new URL(cfg.cognitoEndpoint, document.baseURI)).href;
}

/** The API base URL without a trailing slash (".../prod"). */
export function apiBase(cfg) {
  return new URL(cfg.apiUrl, document.baseURI).href.replace(/\/+$/, "");
}
