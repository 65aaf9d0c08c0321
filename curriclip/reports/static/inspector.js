(function () {
  var data = document.getElementById('trial-configs');
  var panel = document.getElementById('inspector');
  if (!data || !panel) return;
  var configs = JSON.parse(data.textContent);
  var title = document.getElementById('insp-title'), body = document.getElementById('insp-body');
  var pinned = false;
  function show(key, pin) {
    var c = configs[key];
    if (!c || (pinned && !pin)) return false;
    if (pin) pinned = true;
    title.textContent = 'trial ' + c.trial_id + (c.status ? ' (' + c.status + ')' : '');
    var lines = Object.keys(c.config).sort().map(function (k) {
      return k + ': ' + JSON.stringify(c.config[k]);
    });
    body.textContent = lines.length ? lines.join('\n') : '(no configuration recorded)';
    panel.hidden = false;
    panel.setAttribute('data-trial', key);
    return true;
  }
  window.curriclipShowTrial = show;
  document.getElementById('insp-close').addEventListener('click', function () {
    pinned = false; panel.hidden = true;
  });
  function keyOf(ev) {
    var p = ev && ev.points && ev.points[0];
    if (!p || !p.customdata) return null;
    return Array.isArray(p.customdata) ? p.customdata[0] : p.customdata;
  }
  function hook() {
    document.querySelectorAll('.plotly-graph-div').forEach(function (gd) {
      if (!gd.on || gd.__inspector) return;
      gd.__inspector = true;
      gd.on('plotly_hover', function (ev) { var k = keyOf(ev); if (k) show(k, false); });
      gd.on('plotly_click', function (ev) { var k = keyOf(ev); if (k) { pinned = false; show(k, true); } });
    });
  }
  hook();
  window.addEventListener('load', hook);
  document.querySelectorAll('tr[data-trial]').forEach(function (tr) {
    tr.addEventListener('mouseenter', function () { show(tr.getAttribute('data-trial'), false); });
    tr.addEventListener('click', function () { pinned = false; show(tr.getAttribute('data-trial'), true); });
  });
})();
