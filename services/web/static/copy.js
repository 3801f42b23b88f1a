// Copy buttons for one-time links: the button appears only when scripts run (the field stays
// selectable without them) and says whether the copy worked.
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var id = button.getAttribute('data-copy');
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) return;
    button.hidden = false;
    function say(copied) {
      if (status) status.textContent = copied ? 'Copied to the clipboard.' : 'The link is selected: press Ctrl+C (or Cmd+C) to copy it.';
    }
    function fallback() {
      var ok = false;
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      say(ok);
    }
    button.addEventListener('click', function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext)
        navigator.clipboard.writeText(field.value).then(function () {
          say(true);
        }, fallback);
      else fallback();
    });
  });
})();
