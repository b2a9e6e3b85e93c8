/* global window, document, fetch, location, URLSearchParams, Intl, AdaptiveCards, microsoftTeams */
/**
 * The helpdesk tab's page script (served by bot/tab/routes.ts; no build step). It asks the bot's
 * /tab/api for the chat's own cards (open incidents, pending approvals, a VM's audit trail, fleet
 * sweeps) and renders them with the Adaptive Cards renderer; Approve and Reject call the API.
 * Inside Teams every call carries the Teams SSO token; outside Teams (local development, no app id)
 * the page's `?as=<Entra object id>` names the user (header X-Tab-As).
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var state = {
    lang: document.documentElement.lang === 'ru' ? 'ru' : 'en',
    tz: safeZone(),
    devAs: params.get('as'),
    inTeams: false,
    strings: {},
    me: null,
  };

  function safeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (e) {
      return 'UTC';
    }
  }

  function s(key, values) {
    var text = state.strings[key] || key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error('timed out'));
      }, ms);
      promise.then(
        function (v) {
          clearTimeout(timer);
          resolve(v);
        },
        function (e) {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Inside Teams (a frame or a window Teams opened): initialize and read the context; else null. */
  function teamsContext() {
    if (!window.microsoftTeams || (window.parent === window && !window.opener)) return Promise.resolve(null);
    return withTimeout(microsoftTeams.app.initialize(), 5000)
      .then(function () {
        return microsoftTeams.app.getContext();
      })
      .then(function (ctx) {
        state.inTeams = true;
        return ctx;
      })
      .catch(function () {
        return null;
      });
  }

  function authHeaders() {
    if (!state.inTeams) return Promise.resolve(state.devAs ? { 'X-Tab-As': state.devAs } : {});
    return microsoftTeams.authentication.getAuthToken().then(
      function (token) {
        return { Authorization: 'Bearer ' + token };
      },
      function (e) {
        throw new Error(s('signInFailed', { detail: (e && e.message) || String(e) }));
      },
    );
  }

  /** One API call: { status, ok, data }; data.error is the server's sentence when it refused. */
  function call(method, path, body) {
    return authHeaders().then(function (auth) {
      var headers = { Accept: 'application/json' };
      Object.keys(auth).forEach(function (k) {
        headers[k] = auth[k];
      });
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      var url = path + (path.indexOf('?') >= 0 ? '&' : '?') + 'lang=' + state.lang + '&tz=' + encodeURIComponent(state.tz);
      return fetch(url, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' }).then(function (res) {
        return res
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: res.status, ok: res.ok, data: data || {} };
          });
      });
    });
  }

  function show(el, text, kind) {
    el.textContent = text || '';
    el.className = el.className.replace(/\s*\b(error|ok)\b/g, '') + (kind ? ' ' + kind : '');
  }

  function banner(text) {
    var b = $('#banner');
    b.textContent = text || '';
    b.hidden = !text;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  /**
   * The markdown of card text as Teams shows it (the subset the bot writes): **bold**, _italic_,
   * [links](https://...), "- " and "1. " lists, line breaks, backslash escapes. Everything is
   * HTML-escaped first: only the tags made here reach the page.
   */
  function markdown(text) {
    var literals = [];
    var s = String(text).replace(/\\([!-/:-@[-`{-~])/g, function (whole, c) {
      literals.push(c);
      return '\u0000' + (literals.length - 1) + '\u0000';
    });
    s = escapeHtml(s)
      .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
      .replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, '$1<em>$2</em>');
    var out = [];
    var list = null;
    var paragraph = [];
    var flush = function () {
      if (paragraph.length) out.push('<p>' + paragraph.join('<br>') + '</p>');
      paragraph = [];
      if (list) out.push('<' + list.tag + '>' + list.items.join('') + '</' + list.tag + '>');
      list = null;
    };
    s.split('\n').forEach(function (line) {
      var bullet = /^\s*[-*] (.*)$/.exec(line);
      var numbered = /^\s*\d+\. (.*)$/.exec(line);
      var item = bullet || numbered;
      if (item) {
        var tag = bullet ? 'ul' : 'ol';
        if (paragraph.length || (list && list.tag !== tag)) flush();
        list = list || { tag: tag, items: [] };
        list.items.push('<li>' + item[1] + '</li>');
      } else if (!line.trim()) {
        flush();
      } else {
        if (list) flush();
        paragraph.push(line);
      }
    });
    flush();
    return out.join('').replace(/\u0000(\d+)\u0000/g, function (whole, i) {
      return escapeHtml(literals[Number(i)]);
    });
  }

  function hostConfig() {
    return new AdaptiveCards.HostConfig({
      fontFamily: '"Segoe UI", system-ui, sans-serif',
      supportsInteractivity: true,
      actions: { maxActions: 6, actionsOrientation: 'horizontal', actionAlignment: 'left', buttonSpacing: 8, showCard: { actionMode: 'inline' } },
    });
  }

  /** Renders `json` into a new box in `list` (or in place of `box`); card actions go to onAction. */
  function renderCard(list, json, box) {
    var target = box || document.createElement('div');
    target.className = 'card-box';
    target.innerHTML = '';
    var holder = document.createElement('div');
    var msg = document.createElement('p');
    msg.className = 'card-msg';
    msg.setAttribute('role', 'alert');
    var card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = hostConfig();
    card.onExecuteAction = function (action) {
      onAction(action, target, msg);
    };
    card.parse(json);
    var el = card.render();
    if (el) holder.appendChild(el);
    target.appendChild(holder);
    target.appendChild(msg);
    if (!box) list.appendChild(target);
    return { box: target, msg: msg };
  }

  function verbAndData(action) {
    var type = action.getJsonTypeName();
    var data = action.data && typeof action.data === 'object' ? action.data : {};
    if (type === 'Action.Execute') return { verb: action.verb, data: data };
    if (type === 'Action.Submit') return { verb: data.verb, data: data };
    return { verb: '', data: data };
  }

  function setBusy(box, busy) {
    Array.prototype.forEach.call(box.querySelectorAll('button'), function (b) {
      b.disabled = busy;
    });
  }

  function onAction(action, box, msg) {
    if (action.getJsonTypeName() === 'Action.OpenUrl') {
      window.open(action.url, '_blank', 'noopener');
      return;
    }
    var va = verbAndData(action);
    var id = va.data.approvalId;
    if (va.verb === 'approval.approve' || va.verb === 'approval.reject') {
      var body = {};
      if (va.verb === 'approval.reject' && typeof va.data.reason === 'string' && va.data.reason.trim()) body.reason = va.data.reason;
      setBusy(box, true);
      show(msg, s('working'));
      call('POST', '/tab/api/approvals/' + encodeURIComponent(id) + '/' + (va.verb === 'approval.approve' ? 'approve' : 'reject'), body)
        .then(function (r) {
          var text = r.ok ? r.data.message : r.data.error || s('failed', { detail: 'HTTP ' + r.status });
          if (r.data.card) msg = renderCard(null, r.data.card, box).msg;
          else setBusy(box, false);
          show(msg, text, r.ok ? 'ok' : 'error');
          box.setAttribute('data-outcome', r.ok ? 'ok' : 'refused');
          if (r.ok) loadIncidents();
        })
        .catch(function (e) {
          setBusy(box, false);
          show(msg, s('failed', { detail: e.message }), 'error');
        });
      return;
    }
    if (va.verb === 'approval.refresh') {
      call('GET', '/tab/api/approvals/' + encodeURIComponent(id)).then(function (r) {
        if (r.ok) renderCard(null, r.data.card, box);
        else show(msg, r.data.error || s('failed', { detail: 'HTTP ' + r.status }), 'error');
      });
      return;
    }
    if (va.verb === 'history.older') {
      call('GET', '/tab/api/audit?vmId=' + encodeURIComponent(va.data.vmId) + '&beforeSeq=' + encodeURIComponent(va.data.beforeSeq)).then(function (r) {
        if (r.ok) renderCard(null, r.data.card, box);
        else show(msg, r.data.error || s('failed', { detail: 'HTTP ' + r.status }), 'error');
      });
      return;
    }
    show(msg, s('chatOnly'), 'error');
  }

  /** Loads one section: `fill(data, list)` renders what the API answered; a refusal is shown in the section. */
  function load(sectionId, path, fill) {
    var section = $('#' + sectionId);
    var list = $('.cards', section);
    var msg = $('.msg', section);
    show(msg, s('loading'));
    return call('GET', path)
      .then(function (r) {
        list.innerHTML = '';
        if (!r.ok) {
          show(msg, r.data.error || s('failed', { detail: 'HTTP ' + r.status }), 'error');
          return;
        }
        show(msg, '');
        fill(r.data, list, msg);
      })
      .catch(function (e) {
        show(msg, s('failed', { detail: e.message }), 'error');
      });
  }

  function loadIncidents() {
    return load('incidents', '/tab/api/incidents', function (data, list) {
      renderCard(list, data.card);
      var options = $('#vm-list');
      options.innerHTML = '';
      (data.vms || []).forEach(function (name) {
        var o = document.createElement('option');
        o.value = name;
        options.appendChild(o);
      });
    });
  }

  function loadApprovals() {
    return load('approvals', '/tab/api/approvals', function (data, list, msg) {
      if (!data.approvals.length) show(msg, s('noApprovals'));
      data.approvals.forEach(function (a) {
        renderCard(list, a.card).box.setAttribute('data-approval-id', a.approvalId);
      });
    });
  }

  function loadSweeps() {
    return load('sweeps', '/tab/api/sweeps', function (data, list, msg) {
      if (!data.sweeps.length) show(msg, s('noSweeps'));
      data.sweeps.forEach(function (sw) {
        renderCard(list, sw.card);
      });
    });
  }

  function loadAudit(vm) {
    return load('audit', '/tab/api/audit?vm=' + encodeURIComponent(vm), function (data, list) {
      renderCard(list, data.card);
    });
  }

  function applyStrings() {
    document.documentElement.lang = state.lang;
    document.title = s('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) {
      el.textContent = s(el.getAttribute('data-t'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-t-placeholder]'), function (el) {
      el.setAttribute('placeholder', s(el.getAttribute('data-t-placeholder')));
    });
  }

  function loadAll() {
    banner('');
    document.body.setAttribute('data-state', 'loading');
    return call('GET', '/tab/api/me')
      .then(function (r) {
        if (!r.ok) {
          $('#who').textContent = '';
          banner(r.data.error || 'HTTP ' + r.status);
          document.body.setAttribute('data-state', 'refused');
          return;
        }
        state.me = r.data;
        state.strings = r.data.strings || {};
        applyStrings();
        $('#who').textContent = s('signedInAs', { name: r.data.user.name }) + ' (' + s(r.data.approver ? 'approverBadge' : 'notApproverBadge') + ')';
        $('#audit').hidden = !r.data.approver;
        $('#sweeps').hidden = !r.data.approver;
        var work = [loadIncidents(), loadApprovals()];
        if (r.data.approver) work.push(loadSweeps());
        return Promise.all(work).then(function () {
          document.body.setAttribute('data-state', 'ready');
        });
      })
      .catch(function (e) {
        banner(e.message);
        document.body.setAttribute('data-state', 'refused');
      });
  }

  function start() {
    AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) {
      result.outputHtml = markdown(text);
      result.didProcess = true;
    };
    $('#reload').addEventListener('click', function () {
      loadAll();
    });
    $('#audit-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var vm = $('#vm').value.trim();
      if (vm) loadAudit(vm);
    });
    teamsContext().then(function (ctx) {
      var locale = ctx && ctx.app && ctx.app.locale;
      if (typeof locale === 'string' && locale) state.lang = /^ru/i.test(locale) ? 'ru' : 'en';
      if (ctx && ctx.user && ctx.user.tenant) document.body.setAttribute('data-in-teams', 'true');
      return loadAll();
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
