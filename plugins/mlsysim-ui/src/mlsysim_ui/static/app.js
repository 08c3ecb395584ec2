// The explorer's only script: draw plotly figures after a page load or an htmx swap, fill a catalog
// picker from its suggestion list, and keep the address bar equal to the form (shareable state).
(function () {
  function draw(root) {
    root.querySelectorAll('.chart').forEach(function (el) {
      var spec = el.querySelector('script');
      if (!spec || !window.Plotly) return;
      var fig = JSON.parse(spec.textContent);
      Plotly.react(el, fig.data, fig.layout, {displaylogo: false, displayModeBar: false, responsive: true});
    });
  }
  document.addEventListener('DOMContentLoaded', function () { draw(document); });
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
