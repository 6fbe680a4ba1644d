// Installed in every page before the frontend's own scripts; reads the live model via window.jupyterapp.
(() => {
  if (window.__labHarness) return;
  const H = {
    armed: new Map(),
    panel(path) {
      const app = window.jupyterapp;
      if (!app || !app.shell) return null;
      for (const w of app.shell.widgets('main')) {
        if (w && w.context && w.context.path === path && w.content && w.sessionContext) return w;
      }
      return null;
    },
    state(path) {
      const app = window.jupyterapp;
      const p = H.panel(path);
      if (!p) return {app: !!app, found: false};
      const sc = p.sessionContext;
      const kernel = sc.session ? sc.session.kernel : null;
      return {
        app: true, found: true, id: p.id,
        ready: p.context.isReady && sc.isReady,
        kernelStatus: kernel ? kernel.status : null,
        connectionStatus: kernel ? kernel.connectionStatus : null,
        kernelName: kernel ? kernel.name : null,
        cells: p.content.widgets.length,
        activeCellIndex: p.content.activeCellIndex,
        mode: p.content.mode,
      };
    },
    cell(path, i) {
      const p = H.panel(path);
      if (!p) throw new Error('notebook not open: ' + path);
      const c = p.content.widgets[i];
      if (!c) throw new Error('no cell ' + i + ' in ' + path + ' (' + p.content.widgets.length + ' cells)');
      return c;
    },
    cellInfo(path, i) {
      const m = H.cell(path, i).model;
      const code = m.type === 'code';
      return {
        type: m.type,
        source: m.sharedModel.getSource(),
        executionCount: code ? (m.executionCount ?? null) : null,
        executionState: code ? (m.executionState ?? null) : null,
        outputs: code ? m.outputs.toJSON() : [],
      };
    },
    // Record the execution counts a cell gets from now on (set when the reply and all of the
    // execution's output messages have been handled).
    arm(path, indices) {
      for (const i of indices) {
        const model = H.cell(path, i).model;
        const key = path + '#' + i;
        const old = H.armed.get(key);
        if (old) old.off();
        const rec = {counts: []};
        const onChange = (_m, args) => {
          if (args.name === 'executionCount' && typeof args.newValue === 'number') rec.counts.push(args.newValue);
        };
        model.stateChanged.connect(onChange);
        rec.off = () => model.stateChanged.disconnect(onChange);
        H.armed.set(key, rec);
      }
    },
    // {done, counts, errorAt}: done when every armed cell has a count, or when a cell errored and
    // the kernel is idle with nothing running (JupyterLab stops a run there).
    progress(path, indices) {
      const p = H.panel(path);
      if (!p) return {done: false, reason: 'notebook not open'};
      const kernel = p.sessionContext.session ? p.sessionContext.session.kernel : null;
      const idle = !!kernel && kernel.status === 'idle';
      const counts = [];
      let errorAt = null;
      let running = false;
      for (const i of indices) {
        const rec = H.armed.get(path + '#' + i);
        const m = p.content.widgets[i].model;
        counts.push(rec && rec.counts.length ? rec.counts[rec.counts.length - 1] : null);
        if (m.executionState === 'running') running = true;
        if (errorAt === null && rec && rec.counts.length &&
            m.outputs.toJSON().some(o => o.output_type === 'error')) errorAt = i;
      }
      const all = counts.every(c => c !== null);
      return {done: idle && !running && (all || errorAt !== null), counts, errorAt, idle, running};
    },
    disarm(path, indices) {
      for (const i of indices) {
        const key = path + '#' + i;
        const rec = H.armed.get(key);
        if (rec) { rec.off(); H.armed.delete(key); }
      }
    },
  };
  window.__labHarness = H;
})();
