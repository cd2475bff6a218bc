/* bn_course docs: one language at a time.
 *
 * The notebooks put a Korean paragraph first and its English twin after it. This script
 *  1. tags each prose paragraph, list and list item of the page as Korean (`bi-ko`, lang=ko) or English (`bi-en`,
 *     lang=en) from its letters (Hangul vs Latin words), leaving mixed ones, headings ("한국어 (English)"), tables,
 *     figures, code cells and their outputs (show_doc cards included), equations and the title block untagged;
 *  2. puts a switch under the page title: 한국어 / English / 둘 다 · Both (default: both). styles.css hides the other
 *     language's tagged prose; untagged content shows in every mode. The choice is kept in localStorage, so it holds
 *     on every page and after a reload; `?lang=ko|en|both` in the address sets it too.
 *
 * Quarto loads this file at the end of every page (nbs/_quarto.yml: include-after-body + resources); the preview
 * (scripts/render_docs.py) does the same. A tiny snippet in the page head (nbs/_quarto.yml: include-in-header)
 * sets <html data-bi-lang> from the stored choice before the page is drawn, so the chosen language shows from the
 * first paint. Without JavaScript, or in JupyterLab, both languages show as written. */
(function () {
  'use strict';
  var KEY = 'bn_course.lang', MODES = ['both', 'ko', 'en'], root = document.documentElement;

  function store(mode) { try { localStorage.setItem(KEY, mode); } catch (e) { /* no storage: this page only */ } }
  function stored() {
    var asked = new URLSearchParams(location.search).get('lang'), v = null;
    if (MODES.indexOf(asked) >= 0) { store(asked); return asked; }
    try { v = localStorage.getItem(KEY); } catch (e) { /* no storage */ }
    return MODES.indexOf(v) >= 0 ? v : 'both';
  }

  // --- 1. tagging ---------------------------------------------------------------------------------------------------
  // What counts is prose: equations (MathJax/KaTeX, before or after typesetting), code and scripts are dropped first,
  // so TeX words never make an equation "English".
  var NOT_PROSE = '.math, .katex, mjx-container, .MathJax, .MathJax_Display, .MathJax_Preview, code, script';
  var SKIP = 'pre, table, figure, nav, .course-nav, header, footer, .cell, .cell-output, .sidebar, .bi-switch, #title-block-header';

  function prose(el) {
    var c = el.cloneNode(true);
    c.querySelectorAll(NOT_PROSE).forEach(function (m) { m.remove(); });
    return c.textContent || '';
  }

  // Korean prose names its terms in English now and then ("역전파(backpropagation)", paper titles in quotes), English
  // prose may quote a Korean term, and a paragraph that holds both languages ("2. (도전, challenge) … / Vary the …")
  // must show in every mode. So, with words in parentheses and quotes set aside: a paragraph is Korean when it has at
  // least 8 Hangul syllables and English words make at most a third of its words; English when it has at least
  // 6 English words (asides included) and Korean words make at most a sixth of its words. Anything else shows in
  // every mode.
  var ASIDE = /\([^()]*\)|"[^"]*"|\u201c[^\u201d]*\u201d/g;
  function count(t, re) { return (t.match(re) || []).length; }
  function language(el) {
    var all = prose(el), t = all, s;
    do { s = t; t = t.replace(ASIDE, ' '); } while (t !== s);  // (nested (parentheses)) from the inside out
    var HANGUL = /[\uac00-\ud7a3]/g, KO_WORD = /[\uac00-\ud7a3]+/g, EN_WORD = /\b[A-Za-z]{3,}\b/g;
    var koWords = count(t, KO_WORD), en = count(all, EN_WORD);
    if (count(t, HANGUL) >= 8 && count(t, EN_WORD) <= koWords / 2) return 'ko';
    if (en >= 6 && koWords <= en / 5) return 'en';
    return null;
  }

  function tag(scope) {
    scope.querySelectorAll('main p, main li, main ul, main ol').forEach(function (el) {
      if (el.closest(SKIP)) return;
      var l = language(el);
      el.classList.remove('bi-ko', 'bi-en');
      if (l) { el.classList.add('bi-' + l); el.lang = l; }
    });
  }

  // --- 2. the switch --------------------------------------------------------------------------------------------------
  var LABELS = {ko: '한국어', en: 'English', both: '둘 다 · Both'};

  function build() {
    var box = document.createElement('div');
    box.className = 'bi-switch';
    box.setAttribute('role', 'radiogroup');
    box.setAttribute('aria-labelledby', 'bi-switch-label');
    var label = document.createElement('span');
    label.id = 'bi-switch-label';
    label.className = 'bi-switch-label';
    label.textContent = '언어 · Language';
    box.appendChild(label);
    ['ko', 'en', 'both'].forEach(function (mode) {
      var opt = document.createElement('label');
      opt.className = 'bi-switch-option';
      var input = document.createElement('input');
      input.type = 'radio';
      input.name = 'bi-lang';
      input.value = mode;
      input.id = 'bi-lang-' + mode;
      var text = document.createElement('span');
      text.textContent = LABELS[mode];
      if (mode !== 'both') text.lang = mode;
      opt.appendChild(input);
      opt.appendChild(text);
      box.appendChild(opt);
      input.addEventListener('change', function () { if (input.checked) { store(mode); apply(mode, true); } });
    });
    return box;
  }

  function place(box) {
    var main = document.querySelector('main') || document.body;
    var title = main.querySelector('#title-block-header');
    if (title) title.insertAdjacentElement('afterend', box);
    else main.insertBefore(box, main.firstChild);
  }

  // Hiding half the prose moves everything below: keep the block the reader is at (the first one that stays and
  // starts inside the window, else the one across its top edge) at the same height.
  function anchor(mode) {
    var blocks = document.querySelectorAll('main p, main li, main h1, main h2, main h3, main h4, main pre, main figure, main table, main .cell');
    var across = null;
    for (var i = 0; i < blocks.length; i++) {
      var el = blocks[i], r = el.getBoundingClientRect();
      if (r.height === 0 || r.bottom <= 0) continue;
      if (r.top >= window.innerHeight) break;
      if ((mode === 'ko' && el.closest('.bi-en')) || (mode === 'en' && el.closest('.bi-ko'))) continue;
      if (r.top >= 0) return {el: el, top: r.top};
      across = across || {el: el, top: r.top};
    }
    return across;
  }

  function apply(mode, keepPlace) {
    var a = keepPlace ? anchor(mode) : null;
    // the browser's own scroll anchoring (Chrome, Firefox) would move the page a second time: off while we do it
    if (a) root.style.overflowAnchor = 'none';
    root.setAttribute('data-bi-lang', mode);
    document.querySelectorAll('.bi-switch input').forEach(function (i) { i.checked = i.value === mode; });
    if (a) {
      window.scrollBy(0, a.el.getBoundingClientRect().top - a.top);
      requestAnimationFrame(function () { root.style.overflowAnchor = ''; });
    }
  }

  tag(document);
  var box = build();
  place(box);
  apply(stored(), false);
  // Other tabs of the site follow a change made here.
  window.addEventListener('storage', function (e) { if (e.key === KEY && MODES.indexOf(e.newValue) >= 0) apply(e.newValue, true); });
  window.bnCourseLanguage = {tag: tag, language: language, apply: apply};
})();
