// The audit form: applies the template's logic as the auditor answers (follow-ups, and the note,
// photo or corrective action a rule asks for), saves each answer as it is given, and keeps the
// answers that could not be sent (no connection) in localStorage until they are: on `online` and
// on the next page load. The server stays the authority: it checks everything again on submit.
(function () {
  "use strict";
  var root = document.getElementById("audit-form");
  if (!root) {
    return;
  }
  var editable = root.dataset.editable === "true";
  var answerUrl = root.dataset.answerUrl;
  var photoUrl = root.dataset.photoUrl;
  var storeKey = "audit-answers-waiting-" + root.dataset.audit;
  var csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var statusEl = document.getElementById("audit-save-status");
  var progressEl = document.getElementById("audit-progress");
  var progressBar = document.getElementById("audit-progress-bar");
  var questions = [];
  var byId = {};
  var offline = !navigator.onLine;
  var sending = false;
  var typing = {};

  Array.prototype.forEach.call(root.querySelectorAll("fieldset.audit-question"), function (box) {
    var logic = JSON.parse(box.dataset.logic);
    var q = { box: box, logic: logic, photos: parseInt(box.dataset.photos || "0", 10) };
    questions.push(q);
    byId[logic.id] = q;
  });

  // --- Answers as the page holds them ---------------------------------------------------------

  function fieldValue(q, field) {
    if (field === "value" && q.box.querySelector("input[type=radio]")) {
      var checked = q.box.querySelector("input[type=radio]:checked");
      return checked ? checked.value : "";
    }
    var input = q.box.querySelector("[data-field=" + field + "]:not([type=radio])");
    return input ? input.value.trim() : "";
  }

  function setFieldValue(q, field, value) {
    if (field === "value" && q.box.querySelector("input[type=radio]")) {
      Array.prototype.forEach.call(q.box.querySelectorAll("input[type=radio]"), function (radio) {
        radio.checked = radio.value === value;
      });
      return;
    }
    var input = q.box.querySelector("[data-field=" + field + "]:not([type=radio])");
    if (input) {
      input.value = value;
    }
  }

  // --- The logic (the same rules as audits.services.scoring) ----------------------------------

  function failed(logic, value) {
    // An answer that counts and earns less than full marks; N/A and unanswered never fail.
    if (!value || value === "na") {
      return false;
    }
    switch (logic.kind) {
      case "yes_no": return value === "no";
      case "pass_fail": return value === "fail";
      case "rating": return ["1", "2", "3", "4"].indexOf(value) >= 0;
      case "choice": return (logic.full || []).indexOf(value) < 0;
      case "number": {
        var number = parseFloat(value.replace(",", "."));
        if (!isFinite(number) || logic.threshold === undefined) {
          return false;
        }
        var threshold = parseFloat(logic.threshold);
        return logic.comparator === "gte" ? number < threshold : number > threshold;
      }
      default: return false;
    }
  }

  function matches(logic, value, answers) {
    if (!value) {
      return false;
    }
    return answers.indexOf(value) >= 0 || (answers.indexOf("failed") >= 0 && failed(logic, value));
  }

  function answered(q) {
    return q.logic.kind === "photo" ? q.photos > 0 : fieldValue(q, "value") !== "";
  }

  function apply() {
    var shownIds = {};
    questions.forEach(function (q) {
      var logic = q.logic;
      var visible = true;
      if (logic.parent) {
        var parent = byId[logic.parent];
        visible = !!parent && !!shownIds[logic.parent] && matches(parent.logic, fieldValue(parent, "value"), logic.shownWhen);
      }
      q.box.hidden = !visible;
      if (visible) {
        shownIds[logic.id] = true;
      }
      var value = fieldValue(q, "value");
      var needs = { note: false, photo: logic.kind === "photo", action: false };
      logic.rules.forEach(function (rule) {
        if (matches(logic, value, rule.answers)) {
          needs.note = needs.note || rule.note;
          needs.photo = needs.photo || rule.photo;
          needs.action = needs.action || rule.action;
        }
      });
      ["note", "photo", "action"].forEach(function (extra) {
        var block = q.box.querySelector("[data-extra=" + extra + "]");
        if (!block) {
          return;
        }
        var has = extra === "photo" ? q.photos > 0 : fieldValue(q, extra) !== "";
        var problem = block.querySelector("[data-problem]");
        block.hidden = !(needs[extra] || has || (problem && !problem.hidden));
        block.classList.toggle("audit-extra--required", needs[extra]);
      });
    });
    var total = 0;
    var done = 0;
    Array.prototype.forEach.call(root.querySelectorAll("details.audit-section"), function (section) {
      var shown = 0;
      var ok = 0;
      Array.prototype.forEach.call(section.querySelectorAll("fieldset.audit-question"), function (box) {
        var q = byId[JSON.parse(box.dataset.logic).id];
        if (!box.hidden) {
          shown += 1;
          ok += answered(q) ? 1 : 0;
        }
      });
      section.querySelector("[data-section-progress]").textContent = ok + " of " + shown + " answered";
      total += shown;
      done += ok;
    });
    progressEl.textContent = done + " of " + total + " answered";
    progressBar.style.width = (total ? Math.round((100 * done) / total) : 0) + "%";
  }

  // --- Saving, and the answers waiting to be saved --------------------------------------------

  function waiting() {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "{}");
    } catch (error) {
      return {};
    }
  }

  function keep(queue) {
    if (Object.keys(queue).length) {
      localStorage.setItem(storeKey, JSON.stringify(queue));
    } else {
      localStorage.removeItem(storeKey);
    }
  }

  function waitingCount() {
    var seen = {};
    Object.keys(waiting()).forEach(function (key) {
      seen[key.split(":")[0]] = true;
    });
    return Object.keys(seen).length;
  }

  function showStatus() {
    if (!statusEl) {
      return;
    }
    var count = waitingCount();
    var words = count + " answer" + (count === 1 ? "" : "s");
    if (!count) {
      statusEl.textContent = "All answers saved";
    } else if (offline) {
      statusEl.textContent = "Offline: " + words + " waiting to be saved";
    } else {
      statusEl.textContent = "Saving " + words + "…";
    }
    statusEl.classList.toggle("audit-save-status--waiting", count > 0);
  }

  function saveError(q, message) {
    var el = q.box.querySelector("[data-save-error]");
    el.textContent = message;
    el.hidden = !message;
  }

  function queue(questionId, field, value) {
    var current = waiting();
    current[questionId + ":" + field] = value;
    keep(current);
    showStatus();
    send();
  }

  function send() {
    // One answer at a time, in order; stops at the first that cannot reach the server.
    if (sending) {
      return;
    }
    var current = waiting();
    var key = Object.keys(current)[0];
    if (!key) {
      showStatus();
      return;
    }
    sending = true;
    var parts = key.split(":");
    var value = current[key];
    var body = new FormData();
    body.append("question", parts[0]);
    body.append(parts[1], value);
    fetch(answerUrl, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (response.status >= 500) {
          // The server could not save it now: keep it waiting, as for a lost connection.
          throw new Error("server " + response.status);
        }
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        }, function () {
          return { ok: false, data: { error: "The server did not save this answer (" + response.status + ")." } };
        });
      })
      .then(function (result) {
        offline = false;
        var q = byId[parts[0]];
        var after = waiting();
        // Refused answers are not retried: the message says what to change.
        if (after[key] === value) {
          delete after[key];
          keep(after);
        }
        if (q) {
          saveError(q, result.ok ? "" : result.data.error);
        }
        sending = false;
        send();
      })
      .catch(function () {
        // No connection: the answer stays waiting until the browser is back online.
        offline = true;
        sending = false;
        showStatus();
      });
  }

  function restore() {
    // Answers that were waiting when the page was left are shown and sent again.
    var current = waiting();
    Object.keys(current).forEach(function (key) {
      var parts = key.split(":");
      var q = byId[parts[0]];
      if (q) {
        setFieldValue(q, parts[1], current[key]);
      } else {
        delete current[key];
      }
    });
    keep(current);
  }

  function changed(input, immediately) {
    var box = input.closest("fieldset.audit-question");
    var q = byId[JSON.parse(box.dataset.logic).id];
    var field = input.dataset.field;
    var problem = box.querySelector("[data-problem=" + field + "]");
    if (problem) {
      problem.hidden = true;
    }
    apply();
    var key = q.logic.id + ":" + field;
    clearTimeout(typing[key]);
    delete typing[key];
    if (immediately) {
      queue(q.logic.id, field, fieldValue(q, field));
    } else {
      typing[key] = setTimeout(function () {
        delete typing[key];
        queue(q.logic.id, field, fieldValue(q, field));
      }, 700);
    }
  }

  function flushTyping() {
    Object.keys(typing).forEach(function (key) {
      clearTimeout(typing[key]);
      delete typing[key];
      var parts = key.split(":");
      var q = byId[parts[0]];
      var current = waiting();
      current[key] = fieldValue(q, parts[1]);
      keep(current);
    });
  }

  function upload(input) {
    var box = input.closest("fieldset.audit-question");
    var q = byId[JSON.parse(box.dataset.logic).id];
    var file = input.files && input.files[0];
    if (!file || !photoUrl) {
      return;
    }
    var body = new FormData();
    body.append("photo", file);
    saveError(q, "");
    var count = box.querySelector("[data-photo-count]");
    count.textContent = "Uploading the photo…";
    fetch(photoUrl.replace("{q}", q.logic.id), {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (result.ok) {
          q.photos = result.data.count;
          box.dataset.photos = String(q.photos);
          var problem = box.querySelector("[data-problem=photo]");
          if (problem) {
            problem.hidden = true;
          }
        } else {
          saveError(q, result.data.error || "The photo was not accepted.");
        }
      })
      .catch(function () {
        saveError(q, "The photo was not sent: there is no connection. Add it again once you are back online.");
      })
      .then(function () {
        count.textContent = q.photos + " photo" + (q.photos === 1 ? "" : "s") + " attached";
        input.value = "";
        apply();
      });
  }

  if (editable) {
    root.addEventListener("change", function (event) {
      var input = event.target;
      if (input.classList.contains("audit-photo")) {
        upload(input);
      } else if (input.dataset.field) {
        changed(input, true);
      }
    });
    root.addEventListener("input", function (event) {
      var input = event.target;
      if (input.dataset.field && input.type !== "radio") {
        changed(input, false);
      }
    });
    window.addEventListener("online", function () {
      offline = false;
      send();
    });
    window.addEventListener("offline", function () {
      offline = true;
      showStatus();
    });
    var submitForm = document.getElementById("audit-submit-form");
    if (submitForm) {
      submitForm.addEventListener("submit", function (event) {
        flushTyping();
        var count = waitingCount();
        if (!count) {
          return;
        }
        event.preventDefault();
        var refused = document.getElementById("audit-submit-refused");
        refused.textContent =
          count + " answer" + (count === 1 ? " is" : "s are") +
          " not saved yet. Submit once the status says “All answers saved”" +
          (offline ? ": you are offline, they are sent when the connection is back." : ".");
        refused.hidden = false;
        send();
      });
    }
    restore();
  }
  apply();
  showStatus();
  if (editable) {
    send();
  }
})();
