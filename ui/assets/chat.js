// paperchat's browser behaviour, loaded once into the page <head> by ui/app.py.
// The server renders plain text answers and static cards; this file makes them act:
//   [n] in an answer -> a button that shows that answer's cards, scrolls to card n and highlights it;
//   "Copy citation" on a card -> the reference on the clipboard;
//   "Note:" / "Filter:" paragraphs -> styled callouts; the live region -> announced by screen readers.
// Event delegation on document, and a MutationObserver that re-applies the decoration after every
// Gradio re-render, so nothing depends on when Gradio mounts its components.
(() => {
  if (window.__paperchat) return;
  window.__paperchat = true;
  const MARKER = /\[(\d+)\]/g;
  const SKIP = new Set(["CODE", "PRE", "A", "BUTTON", "TEXTAREA", "SCRIPT", "STYLE"]);

  function bots() {
    return [...document.querySelectorAll('#pc-chat [data-testid="bot"]')];
  }

  function decorate(bubble, turn) {
    const walker = document.createTreeWalker(bubble, NodeFilter.SHOW_TEXT, {
      acceptNode(node) {
        for (let el = node.parentElement; el && el !== bubble; el = el.parentElement) {
          if (SKIP.has(el.tagName) || el.classList.contains("pc-cite")) return NodeFilter.FILTER_REJECT;
        }
        MARKER.lastIndex = 0;
        return MARKER.test(node.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      },
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const frag = document.createDocumentFragment();
      let last = 0;
      const text = node.nodeValue;
      MARKER.lastIndex = 0;
      for (let m; (m = MARKER.exec(text)); ) {
        frag.append(text.slice(last, m.index));
        const button = document.createElement("button");
        button.type = "button";
        button.className = "pc-cite";
        button.dataset.turn = String(turn);
        button.dataset.n = m[1];
        button.textContent = m[0];
        button.setAttribute("aria-label", `Source ${m[1]}: show its card`);
        frag.append(button);
        last = m.index + m[0].length;
      }
      frag.append(text.slice(last));
      node.replaceWith(frag);
    }
    for (const p of bubble.querySelectorAll("p")) {
      const t = p.textContent.trimStart();
      p.classList.toggle("pc-note", t.startsWith("Note:"));
      p.classList.toggle("pc-filter-note", t.startsWith("Filter:"));
    }
  }

  function refresh() {
    bots().forEach((bubble, turn) => decorate(bubble, turn));
    const live = document.getElementById("pc-live");
    if (live && live.getAttribute("aria-live") !== "polite") {
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      live.setAttribute("aria-atomic", "true");
    }
  }

  function showCard(turn, n) {
    const groups = document.querySelectorAll("#pc-sources .pc-turn");
    const group = document.getElementById(`pc-turn-${turn}`);
    if (!group) return false;
    groups.forEach((g) => g.classList.toggle("pc-current", g === group));
    const card = group.querySelector(`.pc-card[data-n="${n}"]`);
    if (!card) return false;
    document.querySelectorAll(".pc-card.pc-flash").forEach((c) => c.classList.remove("pc-flash"));
    card.classList.add("pc-flash");
    card.scrollIntoView({ block: "center", behavior: "smooth" });
    card.focus({ preventScroll: true });
    return true;
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
  }

  document.addEventListener("click", (event) => {
    const cite = event.target.closest(".pc-cite");
    if (cite) {
      event.preventDefault();
      showCard(Number(cite.dataset.turn), cite.dataset.n);
      return;
    }
    const button = event.target.closest(".pc-copy");
    if (button) {
      event.preventDefault();
      copy(button.dataset.cite).then(() => {
        button.textContent = "Copied";
        button.setAttribute("aria-live", "polite");
        setTimeout(() => (button.textContent = "Copy citation"), 1600);
      });
    }
  });

  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      refresh();
    });
  }).observe(document.documentElement, { subtree: true, childList: true, characterData: true });
  window.paperchatShowCard = showCard;
})();
