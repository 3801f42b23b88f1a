// Live grading status through server-sent events. Without JavaScript (or EventSource) the page
// refreshes itself through <noscript><meta http-equiv="refresh"></noscript>.
(function () {
  'use strict';
  var root = document.querySelector('[data-events-url]');
  if (!root) return;
  if (!window.EventSource) {
    setTimeout(function () {
      location.reload();
    }, 5000);
    return;
  }
  var label = root.querySelector('[data-phase-label]');
  var steps = root.querySelectorAll('[data-step]');
  var es = new EventSource(root.getAttribute('data-events-url'));
  es.addEventListener('status', function (e) {
    var s = JSON.parse(e.data);
    root.setAttribute('data-phase', s.phase);
    // The finished page says how it ended (graded, or graded but the pipeline did not run): load it.
    if (s.terminal) {
      es.close();
      location.reload();
      return;
    }
    label.textContent = s.label;
    var reached = false;
    for (var i = steps.length - 1; i >= 0; i--) {
      var li = steps[i];
      var key = li.getAttribute('data-step');
      var state = li.querySelector('.state');
      li.classList.remove('done', 'current');
      li.removeAttribute('aria-current');
      if (key === s.step) {
        li.classList.add(s.terminal ? 'done' : 'current');
        li.setAttribute('aria-current', 'step');
        state.textContent = s.terminal ? 'done' : 'in progress';
        reached = true;
      } else if (reached) {
        li.classList.add('done');
        state.textContent = 'done';
      } else {
        state.textContent = '';
      }
    }
  });
  es.addEventListener('error', function () {
    // EventSource reconnects by itself; if it gave up, fall back to reloading the page.
    if (es.readyState === EventSource.CLOSED)
      setTimeout(function () {
        location.reload();
      }, 5000);
  });
})();
