// The page's one DOM helper. The scripts build their elements with el() and
// set text only through textContent, never innerHTML, so nothing that comes
// from the API or from the person is ever parsed as markup.

/** A new `tag` element with the class `className` and the text `text`, each if given. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
