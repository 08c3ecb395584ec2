// The explorer's only script: draw plotly figures (plotly.js is fetched after the page has loaded, so the
// server-rendered numbers show at once), fill a catalog picker from its suggestion list. htmx does the rest.
(function () {
  function draw(root) {
    if (!window.Plotly) return;  // drawn when plotly.js arrives
    root.querySelectorAll('.chart').forEach(function (el) {
      var spec = el.querySelector('script');
      if (!spec) return;
      var fig = JSON.parse(spec.textContent);
      Plotly.react(el, fig.data, fig.layout, {displaylogo: false, displayModeBar: false, responsive: true});
    });
  }
  window.addEventListener('load', function () {
    var src = document.body.dataset.plotly;
    if (!src || window.Plotly) return draw(document);
    var s = document.createElement('script');
    s.src = src;
    s.onload = function () { draw(document); };
    document.head.appendChild(s);
  });
  document.addEventListener('htmx:afterSettle', function (e) { draw(e.detail.elt); });
  document.addEventListener('click', function (e) {
    var pick = e.target.closest('.pick');
    if (pick) {
      var input = document.getElementById(pick.dataset.target);
      input.value = pick.dataset.key;
      input.title = pick.title;
      pick.parentElement.innerHTML = '';
      input.dispatchEvent(new Event('change', {bubbles: true}));
    } else if (!e.target.closest('.picker')) {
      document.querySelectorAll('.suggest').forEach(function (s) { s.innerHTML = ''; });
    }
  });
})();
