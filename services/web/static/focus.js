// "Invite a candidate" and similar links: after the jump, the first field of the form has the
// focus, so keyboard and screen-reader users land where they can type. Without scripts the link
// still scrolls to the form.
(function () {
  'use strict';
  document.querySelectorAll('a[data-focus]').forEach(function (link) {
    link.addEventListener('click', function () {
      var target = document.getElementById(link.getAttribute('data-focus'));
      if (target)
        window.setTimeout(function () {
          target.focus();
        }, 0);
    });
  });
})();
