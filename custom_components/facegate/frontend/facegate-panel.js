// FaceGate's panel: each resident manages their own access and sees their privacy ledger.
// A plain web component (no build step, nothing from a CDN) following Home Assistant's theme
// variables. Every change goes through a facegate/ websocket command, which checks the user
// exactly as the matching action does.
import { translator } from "./strings.js";

const STYLE = `
  :host { display: block; background: var(--primary-background-color); color: var(--primary-text-color);
    font-family: var(--paper-font-body1_-_font-family, Roboto, sans-serif); min-height: 100vh; }
  header { display: flex; align-items: center; gap: 8px; height: 56px; padding: 0 16px;
    background: var(--app-header-background-color, var(--primary-color));
    color: var(--app-header-text-color, var(--text-primary-color, #fff)); font-size: 20px; }
  header button { background: none; border: none; color: inherit; font-size: 24px; cursor: pointer; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; display: grid; gap: 16px; }
  section { background: var(--card-background-color, #fff); border-radius: var(--ha-card-border-radius, 12px);
    border: 1px solid var(--divider-color, #e0e0e0); padding: 16px; }
  h2 { margin: 0 0 12px; font-size: 20px; font-weight: 500; }
  h3 { margin: 16px 0 8px; font-size: 16px; font-weight: 500; }
  p { margin: 8px 0; }
  .muted { color: var(--secondary-text-color); }
  .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 8px 0; }
  label { display: flex; flex-direction: column; font-size: 14px; color: var(--secondary-text-color); gap: 4px; }
  input, select { font: inherit; padding: 8px; min-width: 8em; border-radius: 4px;
    border: 1px solid var(--divider-color, #ccc); background: var(--secondary-background-color, #fafafa);
    color: var(--primary-text-color); }
  button.action { font: inherit; padding: 8px 16px; border-radius: 18px; border: none; cursor: pointer;
    background: var(--primary-color); color: var(--text-primary-color, #fff); min-height: 40px; }
  button.action.secondary { background: none; color: var(--primary-color); border: 1px solid var(--primary-color); }
  button.action.danger { background: var(--error-color, #db4437); }
  button:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--accent-color, #ff9800); outline-offset: 2px; }
  .status:empty, .guidance:empty { display: none; }
  .guidance { font-weight: 500; }
  .error { color: var(--error-color, #db4437); }
  .code { font-size: 28px; letter-spacing: 4px; font-weight: bold; }
  ul.cards, ul.visitor-codes { list-style: none; padding: 0; margin: 8px 0; display: grid; gap: 6px; }
  ul.cards li, ul.visitor-codes li { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  td select { min-width: 6em; }
  .chips span { display: inline-block; padding: 2px 10px; margin: 2px; border-radius: 12px;
    background: var(--secondary-background-color, #eee); }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  th, td { text-align: start; padding: 6px 4px; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
  .scroll { overflow-x: auto; }
  img.preview { max-width: 100%; width: 240px; border-radius: 8px; display: block; margin: 8px 0; }
  @media (max-width: 600px) { main { padding: 8px; } section { padding: 12px; } }
`;

const esc = (value) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

class FaceGatePanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._me = null;
    this._ledgers = {};
    this._overview = null;
    this._status = { text: "", error: false };
    this._code = null;
    this._enrolling = {}; // resident id -> reader name, while a card enrolment window is open
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    this.t = translator(hass.language);
    if (first) this._load();
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    const changed = this._narrow !== narrow;
    this._narrow = narrow;
    if (changed && this._me) this._render();
  }

  async _load() {
    try {
      this._me = await this._hass.callWS({ type: "facegate/me" });
      this._ledgers = {};
      for (const r of this._me.residents) {
        this._ledgers[r.resident_id] = await this._hass.callWS({
          type: "facegate/ledger",
          resident_id: r.resident_id,
        });
      }
      this._overview = this._me.admin
        ? await this._hass.callWS({ type: "facegate/overview" })
        : null;
      this._users = this._me.admin ? await this._hass.callWS({ type: "facegate/users" }) : null;
    } catch (err) {
      this._status = { text: err.message || String(err), error: true };
    }
    this._render();
  }

  async _run(command, data, after) {
    this._code = null;
    try {
      const result = await this._hass.callWS({ type: `facegate/${command}`, ...data });
      this._status = { text: (after && after(result)) || this.t("done"), error: false };
    } catch (err) {
      this._status = { text: err.message || String(err), error: true };
    }
    await this._load();
    this.shadowRoot.querySelector(".status")?.focus();
  }

  _render() {
    const t = this.t;
    const me = this._me;
    let body;
    if (!me) body = `<section><p>${esc(t("loading"))}</p></section>`;
    else if (!me.residents.length && !me.admin)
      body = `<section><p class="not-linked">${esc(t("not_linked"))}</p></section>`;
    else body = me.residents.map((r) => this._resident(r)).join("") + this._everyone();
    const status = this._status;
    this.shadowRoot.innerHTML = `<style>${STYLE}</style>
      <header>${this._narrow ? `<button class="menu" aria-label="Menu" title="Menu">☰</button>` : ""}<span>${esc(t("title"))}</span></header>
      <main>
        <div class="status ${status.error ? "error" : ""}" role="status" aria-live="polite" tabindex="-1">${esc(status.text)}</div>
        ${this._code ? `<section><p>${esc(t("code_once"))}</p><p class="code" data-testid="visitor-code">${esc(this._code)}</p></section>` : ""}
        ${body}
      </main>`;
    this._wire();
  }

  _resident(r) {
    const t = this.t;
    const h = r.household;
    const modes = h.modes.map((m) => `<span>${esc(t(`mode_${m}`))}</span>`).join("");
    const consent = r.face_consent;
    const who = (id) => (id && id === this._hass.user?.id ? t("you") : t("an_admin"));
    const cameras = Object.keys(this._hass.states).filter((e) => e.startsWith("camera."));
    const id = esc(r.resident_id);
    const ledger = this._ledgers[r.resident_id];
    return `
      <section aria-labelledby="household-${id}">
        <h2 id="household-${id}">${esc(t("household"))}${esc(t("colon"))}${esc(h.name)}</h2>
        <p>${esc(t("modes"))}${esc(t("colon"))}<span class="chips">${modes}</span></p>
        <p>${esc(t("policy"))}${esc(t("colon"))}${esc(t(`policy_${h.policy}`))}</p>
        <p>${esc(t("doors"))}${esc(t("colon"))}${esc(h.doors.join(t("list_sep")) || t("none"))}</p>
      </section>
      <section aria-labelledby="me-${id}" data-resident="${id}">
        <h2 id="me-${id}">${esc(t("me"))}${esc(t("colon"))}${esc(r.name)}</h2>
        ${this._pinForm(r, false)}
        ${this._pinForm(r, true)}
        ${this._cards(r)}
        <h3>${esc(t("visitor_codes"))}</h3>
        ${this._visitorCodes(r)}
        <div class="row">
          <label>${esc(t("valid_for"))}<input type="number" name="valid_for" min="5" max="10080" value="240"></label>
          <label>${esc(t("uses"))}<input type="number" name="uses" min="1" max="20" value="1"></label>
          <button class="action" data-act="code">${esc(t("create"))}</button>
        </div>
        <h3>${esc(t("face"))}</h3>
        <p class="consent">${esc(consent ? t("consent_given", { date: new Date(consent.given_at * 1000).toLocaleString(this._hass.language), who: who(consent.recorded_by) }) : t("consent_none"))}</p>
        <p class="samples">${esc(t("samples", { n: r.face_samples }))}</p>
        ${consent ? `
          <p class="muted">${esc(t("enrol_hint"))}</p>
          <div class="row">
            <label>${esc(t("camera"))}<select name="camera">${cameras.map((c) => `<option value="${esc(c)}">${esc(this._hass.states[c].attributes.friendly_name || c)}</option>`).join("")}</select></label>
            <button class="action" data-act="enrol" ${cameras.length ? "" : "disabled"}>${esc(t("enrol_camera"))}</button>
          </div>
          <p class="guidance" aria-live="polite"></p>
          ${cameras.length ? `<img class="preview" alt="${esc(t("camera"))}" src="${esc(this._hass.states[cameras[0]].attributes.entity_picture || "")}">` : ""}
          <div class="row">
            <button class="action secondary" data-act="remove_face">${esc(t("remove_face"))}</button>
            <button class="action danger" data-act="withdraw">${esc(t("withdraw_consent"))}</button>
          </div>` : `<div class="row"><button class="action" data-act="consent">${esc(t("give_consent"))}</button></div>`}
      </section>
      <section aria-labelledby="ledger-${id}" data-resident="${id}">
        <h2 id="ledger-${id}">${esc(t("ledger"))}</h2>
        <p class="muted">${esc(t("ledger_intro"))}</p>
        ${ledger ? `<p>${esc(t("retention", { days: ledger.retention_days }))}</p>${this._records(ledger.records)}${this._consentHistory(ledger.consent_history)}` : ""}
        <div class="row">
          <button class="action secondary" data-act="export">${esc(t("export"))}</button>
          <button class="action danger" data-act="erase">${esc(t("erase"))}</button>
        </div>
      </section>`;
  }

  _pinForm(r, duress) {
    const t = this.t;
    const has = duress ? r.has_duress_pin : r.has_pin;
    const kind = duress ? "duress" : "pin";
    return `
      <h3>${esc(t(duress ? "duress_pin" : "pin"))}${esc(t("colon"))}<span class="${kind}-state">${esc(t(has ? "is_set" : "not_set"))}</span></h3>
      <div class="row">
        <label>${esc(t(duress ? "new_duress_pin" : "new_pin"))}<input type="password" name="${kind}" inputmode="numeric" autocomplete="new-password" maxlength="12"></label>
        <button class="action" data-act="set_${kind}">${esc(t("set"))}</button>
        ${has ? `<button class="action secondary" data-act="remove_${kind}">${esc(t("remove"))}</button>` : ""}
      </div>`;
  }

  _cards(r) {
    const t = this.t;
    const readers = r.household.readers;
    // A card is shown by its number in the list only: never its UID.
    const cards = r.card_refs
      .map((ref, i) => `<li><span>${esc(t("card_n", { n: i + 1 }))}</span> <button class="action secondary" data-act="remove_card" data-card="${esc(ref)}" aria-label="${esc(t("remove_card_n", { n: i + 1 }))}">${esc(t("remove"))}</button></li>`)
      .join("");
    const waiting = this._enrolling[r.resident_id];
    return `
      <h3>${esc(t("cards"))}${esc(t("colon"))}<span class="cards-count">${esc(r.cards)}</span></h3>
      ${cards ? `<ul class="cards">${cards}</ul>` : ""}
      ${readers.length ? `<div class="row">
          <label>${esc(t("reader"))}<select name="reader">${readers.map((x) => `<option value="${esc(x.reader)}">${esc(x.name)}</option>`).join("")}</select></label>
          <button class="action" data-act="enrol_card" ${waiting ? "disabled" : ""}>${esc(t("enrol_card"))}</button>
        </div>
        ${waiting ? `<p class="card-waiting" role="status">${esc(t("tap_card", { reader: waiting }))}</p>` : ""}` : `<p class="muted">${esc(t("no_readers"))}</p>`}`;
  }

  _visitorCodes(r) {
    const t = this.t;
    if (!r.visitor_codes.length) return `<p class="muted">${esc(t("no_visitor_codes"))}</p>`;
    const when = (s) => new Date(s * 1000).toLocaleString(this._hass.language);
    return `<ul class="visitor-codes">${r.visitor_codes
      .map((c) => `<li><span>${esc(t("code_valid", { until: when(c.valid_until), uses: c.uses_left }))}</span> <button class="action secondary" data-act="revoke_code" data-code="${esc(c.code_id)}">${esc(t("revoke"))}</button></li>`)
      .join("")}</ul>`;
  }

  _consentHistory(history) {
    const t = this.t;
    if (!history.length) return "";
    const rows = history
      .map((c) => `<tr><td>${esc(new Date(c.time * 1000).toLocaleString(this._hass.language))}</td><td>${esc(t(c.given ? "consent_gave" : "consent_withdrew"))}</td><td>${esc(c.by ?? t("an_admin"))}</td></tr>`)
      .join("");
    return `<h3>${esc(t("consent_history"))}</h3><div class="scroll"><table class="consent-history"><thead><tr><th scope="col">${esc(t("time"))}</th><th scope="col">${esc(t("change"))}</th><th scope="col">${esc(t("by"))}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }

  _records(records) {
    const t = this.t;
    if (!records.length) return `<p class="muted">${esc(t("no_records"))}</p>`;
    const method = (m) => m.split("+").map((part) => t(`method_${part}`)).join(" + ");
    const rows = records
      .map((r) => `<tr class="${r.face_recognised ? "face-seen" : ""}"><td>${esc(new Date(r.time * 1000).toLocaleString(this._hass.language))}</td><td>${esc(r.door)}</td><td>${esc(method(r.method))}${r.face_recognised ? `<br><span class="muted">${esc(t("face_recognised"))}</span>` : ""}</td><td>${esc(t(`outcome_${r.outcome}`))}${r.count > 1 ? ` ×${esc(r.count)}` : ""}<br><span class="muted reason">${esc(this._reason(r.reason))}</span></td></tr>`)
      .join("");
    return `<div class="scroll"><table class="ledger"><thead><tr><th scope="col">${esc(t("time"))}</th><th scope="col">${esc(t("door"))}</th><th scope="col">${esc(t("method"))}</th><th scope="col">${esc(t("outcome"))}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }

  _reason(reason) {
    // The reasons are the door event entity's translated states, loaded by Home Assistant.
    const key = `component.facegate.entity.event.access.state_attributes.reason.state.${reason}`;
    return this._hass.localize?.(key) || reason;
  }

  _everyone() {
    const t = this.t;
    if (!this._overview) return "";
    const yes = (v) => esc(t(v ? "yes" : "no"));
    const users = this._users || [];
    const userOptions = (selected) =>
      `<option value="">${esc(t("no_user"))}</option>` +
      users.map((u) => `<option value="${esc(u.user_id)}" ${u.user_id === selected ? "selected" : ""}>${esc(u.name)}</option>`).join("");
    // What each resident has, never a secret; the administrator adds, links and removes.
    const households = this._overview.households
      .map((h) => {
        const rows = h.residents
          .map((r) => `<tr data-admin-resident="${esc(r.resident_id)}" data-name="${esc(r.name)}"><td>${esc(r.name)}</td>
            <td><label class="inline"><span class="visually-hidden">${esc(t("user_of", { name: r.name }))}</span><select name="link">${userOptions(r.linked_user)}</select></label>
              <button class="action secondary" data-admin="link">${esc(t("save_link"))}</button></td>
            <td>${yes(r.has_pin)}</td><td>${esc(r.cards)}</td><td>${yes(r.face_consent)}</td><td>${esc(r.face_samples)}</td>
            <td><button class="action danger" data-admin="remove" aria-label="${esc(t("remove_resident_named", { name: r.name }))}">${esc(t("remove"))}</button></td></tr>`)
          .join("");
        return `<h3>${esc(h.name)}</h3>
          <div class="scroll"><table class="everyone" data-household="${esc(h.household_id)}"><thead><tr><th scope="col">${esc(t("resident"))}</th><th scope="col">${esc(t("user"))}</th><th scope="col">${esc(t("pin"))}</th><th scope="col">${esc(t("cards"))}</th><th scope="col">${esc(t("col_consent"))}</th><th scope="col">${esc(t("col_samples"))}</th><th scope="col"><span class="visually-hidden">${esc(t("remove"))}</span></th></tr></thead><tbody>${rows}</tbody></table></div>
          <div class="row" data-add-household="${esc(h.household_id)}">
            <label>${esc(t("new_resident_name"))}<input name="new_name" maxlength="64"></label>
            <label>${esc(t("user"))}<select name="new_user">${userOptions(null)}</select></label>
            <button class="action" data-admin="add">${esc(t("add_resident"))}</button>
          </div>`;
      })
      .join("");
    return `<section aria-labelledby="everyone"><h2 id="everyone">${esc(t("everyone"))}</h2>${households}</section>`;
  }

  _wire() {
    const root = this.shadowRoot;
    root.querySelector(".menu")?.addEventListener("click", () =>
      this.dispatchEvent(new Event("hass-toggle-menu", { bubbles: true, composed: true }))
    );
    for (const button of root.querySelectorAll("button[data-act]")) {
      const section = button.closest("[data-resident]");
      const id = section?.dataset.resident;
      const value = (name) => section.querySelector(`[name="${name}"]`)?.value;
      const t = this.t;
      const actions = {
        set_pin: () => this._run("set_pin", { resident_id: id, pin: value("pin") }),
        set_duress: () => this._run("set_pin", { resident_id: id, pin: value("duress"), duress: true }),
        remove_pin: () => this._run("remove_pin", { resident_id: id }),
        remove_duress: () => this._run("remove_pin", { resident_id: id, duress: true }),
        code: () =>
          this._run("create_visitor_code", { resident_id: id, valid_for_minutes: Number(value("valid_for")), uses: Number(value("uses")) },
            (result) => { this._code = result.code; return ""; }),
        consent: () => this._run("set_consent", { resident_id: id, consent: true }),
        withdraw: () => confirm(t("withdraw_confirm")) && this._run("set_consent", { resident_id: id, consent: false }),
        enrol: () => this._enrolFace(id, value("camera")),
        remove_face: () => this._run("remove_face", { resident_id: id }),
        remove_card: () => confirm(t("remove_card_confirm")) && this._run("remove_card", { resident_id: id, card: button.dataset.card }),
        revoke_code: () => this._run("revoke_visitor_code", { resident_id: id, code_id: button.dataset.code }),
        enrol_card: () => this._enrolCard(id, section.querySelector('[name="reader"]')),
        export: () => this._export(id),
        erase: () => confirm(t("erase_confirm")) && this._run("erase_me", { resident_id: id }),
      };
      button.addEventListener("click", () => actions[button.dataset.act]?.());
    }
    for (const button of root.querySelectorAll("button[data-admin]")) {
      const t = this.t;
      const row = button.closest("[data-admin-resident]");
      const id = row?.dataset.adminResident;
      const actions = {
        link: () => this._run("link_resident", { resident_id: id, user_id: row.querySelector('[name="link"]').value || null }),
        remove: () =>
          confirm(t("remove_resident_confirm", { name: row.dataset.name })) &&
          this._run("remove_resident", { resident_id: id }),
        add: () => {
          const form = button.closest("[data-add-household]");
          const user = form.querySelector('[name="new_user"]').value;
          this._run("add_resident", {
            household_id: form.dataset.addHousehold,
            name: form.querySelector('[name="new_name"]').value,
            ...(user ? { user_id: user } : {}),
          });
        },
      };
      button.addEventListener("click", () => actions[button.dataset.admin]?.());
    }
  }

  async _enrolFace(id, camera) {
    // Live guidance while the camera watches: one event per change of advice, then the end.
    this._code = null;
    const show = (text, error = false) => {
      this._status = { text, error };
      // Shown at the top and beside the camera (on a phone the top is out of sight).
      const section = this.shadowRoot.querySelector(`[data-resident="${CSS.escape(id)}"]`);
      for (const el of [this.shadowRoot.querySelector(".status"), section?.querySelector(".guidance")]) {
        if (!el) continue;
        el.textContent = text;
        el.classList.toggle("error", error);
      }
    };
    try {
      const unsubscribe = await this._hass.connection.subscribeMessage(
        (event) => {
          if (event.guidance) return show(this.t(`guide_${event.guidance}`));
          unsubscribe();
          this._enrollingFace = false;
          if (event.error) show(event.message || event.error, true);
          else show(this.t("enrolled", { n: event.samples }));
          this._load();
        },
        { type: "facegate/enrol_face_live", resident_id: id, camera }
      );
      this._enrollingFace = true;
      show(this.t("guide_start"));
    } catch (err) {
      show(err.message || String(err), true);
    }
  }

  async _enrolCard(id, select) {
    // The server opens the reader's window and later sends one event: how the tap went.
    const reader = select.value;
    const name = select.selectedOptions[0]?.textContent || reader;
    this._code = null;
    try {
      const unsubscribe = await this._hass.connection.subscribeMessage(
        (event) => {
          unsubscribe();
          delete this._enrolling[id];
          const ok = event.result === "enrolled";
          this._status = { text: this.t(`card_${event.result}`), error: !ok };
          this._load();
        },
        { type: "facegate/enrol_card", resident_id: id, reader }
      );
      this._enrolling[id] = name;
      this._status = { text: "", error: false };
    } catch (err) {
      this._status = { text: err.message || String(err), error: true };
    }
    this._render();
  }

  async _export(id) {
    try {
      const data = await this._hass.callWS({ type: "facegate/export", resident_id: id });
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = "facegate-my-data.json";
      this.shadowRoot.appendChild(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
    } catch (err) {
      this._status = { text: err.message || String(err), error: true };
      this._render();
    }
  }
}

customElements.define("facegate-panel", FaceGatePanel);
