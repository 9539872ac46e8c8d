// Escaping for the little text the server writes into markup (the <title>); everything
// else reaches the page as JSON data and is inserted by the page with textContent.

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
