// Progressive enhancement of the upload form: drag and drop, a size check before anything is
// sent, and a progress bar. Without JavaScript the same form posts as a plain multipart form.
(function () {
  'use strict';
  var form = document.querySelector('form[data-upload]');
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = form.querySelector('input[type=file]');
  var zone = form.querySelector('[data-dropzone]');
  var message = form.querySelector('[data-upload-message]');
  var box = form.querySelector('[data-upload-progress]');
  var bar = box && box.querySelector('progress');
  var percent = box && box.querySelector('[data-percent]');
  var button = form.querySelector('button[type=submit]');
  var maxBytes = Number(form.getAttribute('data-max-bytes'));
  var ARCHIVE = /\.(zip|tar\.gz|tgz)$/i;

  function size(n) {
    if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + ' MB';
    if (n >= 1024) return Math.round(n / 1024) + ' KB';
    return n + ' bytes';
  }
  function say(kind, text) {
    message.className = 'notice ' + kind;
    message.textContent = text;
    message.hidden = false;
  }
  function check() {
    var file = input.files && input.files[0];
    if (!file) {
      say('error', 'Choose your archive first.');
      return false;
    }
    if (file.size > maxBytes) {
      say('error', '“' + file.name + '” is ' + size(file.size) + ', larger than the limit of ' + size(maxBytes) + '. Leave data files and virtual environments out of the archive.');
      return false;
    }
    if (!ARCHIVE.test(file.name)) {
      say('error', '“' + file.name + '” does not look like a .zip or .tar.gz archive.');
      return false;
    }
    say('info', 'Ready to upload “' + file.name + '” (' + size(file.size) + ').');
    return true;
  }
  function showPage(text) {
    var doc = new DOMParser().parseFromString(text, 'text/html');
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    var h1 = document.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }

  input.addEventListener('change', check);
  if (zone) {
    ['dragenter', 'dragover'].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add('dragging');
      });
    });
    ['dragleave', 'dragend', 'drop'].forEach(function (type) {
      zone.addEventListener(type, function () {
        zone.classList.remove('dragging');
      });
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        check();
      }
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!check()) {
      input.focus();
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-Upload-Client', 'xhr');
    box.hidden = false;
    button.disabled = true;
    xhr.upload.addEventListener('progress', function (ev) {
      if (!ev.lengthComputable) return;
      var p = Math.round((ev.loaded / ev.total) * 100);
      bar.value = p;
      percent.textContent = p + '%';
    });
    xhr.addEventListener('load', function () {
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) location.assign(xhr.responseURL);
      else showPage(xhr.responseText);
    });
    xhr.addEventListener('error', function () {
      button.disabled = false;
      box.hidden = true;
      say('error', 'The upload was interrupted (network error). Your attempt was not used; please try again.');
    });
    xhr.send(new FormData(form));
  });
})();
