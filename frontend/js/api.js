// The expense API client: raw ID token in Authorization, one retry after a token refresh on 401, plain-word errors.

/** An API failure with the HTTP status (0 = network) and a message fit to show to the user. */
export class ApiError extends Error {
  constructor(status, message, { retryAfter = null, code = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter;
    this.code = code;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

async function errorFromResponse(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const retryAfter = Number(res.headers.get("Retry-After")) || null;
  // Handlers answer {"error": ...}; API Gateway itself answers {"message": ...}.
  const handlerText = body && typeof body.error === "string" ? body.error : null;
  const gatewayText = body && typeof body.message === "string" ? body.message : null;
  switch (res.status) {
    case 400:
      return new ApiError(400, handlerText || "The server didn't accept that request.");
    case 401:
      return new ApiError(401, "Your session has expired. Please sign in again.", { code: "Unauthorized" });
    case 403:
      // For parity: API Gateway answers an unknown route with 403 {"message":"Missing Authentication Token"}.
      if (!handlerText && gatewayText) {
        return new ApiError(403, "The app couldn't find that part of the API. Check apiUrl in config.json.", {
          code: "GatewayForbidden",
        });
      }
      return new ApiError(403, handlerText || "You're not allowed to do that.");
    case 404:
      return new ApiError(404, handlerText || "That expense no longer exists. It may have been deleted.");
    case 409:
      return new ApiError(409, handlerText || "That change clashes with another one. Reload and try again.");
    case 413:
      return new ApiError(413, handlerText || "That's too much text to save.");
    case 429:
      return new ApiError(429, "Too many requests right now. Wait a moment and try again.", { retryAfter });
    case 502:
    case 503:
    case 504:
      return new ApiError(res.status, "The service is busy or unavailable. Try again in a moment.", {
        retryAfter,
      });
    default:
      return new ApiError(res.status, handlerText || `The server had a problem (HTTP ${res.status}).`);
  }
}

export class ApiClient {
  /**
   * @param {string} base API base URL, e.g. https://abc.execute-api.us-east-1.amazonaws.com/prod
   * @param {{idToken(): Promise<string>, refresh(): Promise<unknown>}} session where tokens come from
   */
  constructor(base, session) {
    this.base = base;
    this.session = session;
  }

  url(path, query) {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    return url.href;
  }

  /** One request; on 401 refresh the session once and retry (safe: writes carry an Idempotency-Key). */
  async send(method, path, { query, body, headers = {}, raw = false } = {}) {
    const attempt = async () => {
      const init = { method, headers: { ...headers, Authorization: await this.session.idToken() } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      try {
        return await fetch(this.url(path, query), init);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        throw new ApiError(0, "Can't reach the server. Check your connection and try again.", { code: "Network" });
      }
    };
    let res = await attempt();
    if (res.status === 401) {
      try {
        await this.session.refresh();
      } catch (error) {
        console.info("Session refresh failed:", error && error.code);
        throw await errorFromResponse(res);
      }
      res = await attempt();
    }
    if (!res.ok) throw await errorFromResponse(res);
    return raw ? res : res.json();
  }

  listExpenses(filters, nextToken, limit = 20) {
    return this.send("GET", "/expenses", { query: { ...filters, nextToken, limit } });
  }

  addExpense(input, idempotencyKey) {
    return this.send("POST", "/expenses", { body: input, headers: { "Idempotency-Key": idempotencyKey } });
  }

  updateExpense(expenseId, input) {
    return this.send("PUT", `/expenses/${encodeURIComponent(expenseId)}`, { body: input });
  }

  deleteExpense(expenseId) {
    return this.send("DELETE", `/expenses/${encodeURIComponent(expenseId)}`);
  }

  summary(query) {
    return this.send("GET", "/expenses/summary", { query });
  }

  /** The CSV export of a filter, as a Blob. */
  async exportCsv(filters) {
    const res = await this.send("GET", "/expenses/export", { query: filters, raw: true });
    return res.blob();
  }
}
