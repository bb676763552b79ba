// Applies the theme before first paint so dark mode never flashes. It is a file rather than an inline
// script so that the page's Content-Security-Policy can forbid inline scripts (script-src 'self').
(function () {
  try {
    var t = localStorage.getItem('cm-theme');
    var dark = t === 'dark' || ((!t || t === 'system') && matchMedia('(prefers-color-scheme: dark)').matches);
    if (dark) document.documentElement.classList.add('dark');
  } catch {
    // Storage may be off (private mode, a sandboxed frame): the light theme is then the start.
  }
})();
