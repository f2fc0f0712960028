// Tiny DOM helpers: every piece of user data goes into the page as text (textContent), never as HTML.

/**
 * Create an element. `attrs` keys: `class`, `text` (textContent), `dataset` (object), `on<event>` (listener),
 * booleans set/removed as attributes, anything else via setAttribute. Children are nodes or strings (as text).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** The element with this id; throws early (a page bug) instead of failing later on null. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/** Remove every child of a node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Show or hide with the `hidden` attribute (the CSS keeps [hidden] hidden). */
export function setVisible(node, visible) {
  node.hidden = !visible;
}

/** Put a message (text only) into a status box and show it; an empty message hides it. */
export function setMessage(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}
