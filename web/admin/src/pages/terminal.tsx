import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { post } from '../api';

const PROTOCOL = 'zpack.console.v1';

/** The server's live console: xterm.js over the console WebSocket (zpack.console.v1), resized with its box. */
export function ServerConsole({ id }: { id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    let ws: WebSocket | undefined;
    let closed = false;
    const send = (frame: object) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(frame));
    (async () => {
      const { ticket } = await post<{ ticket: string }>(`/api/servers/${id}/console/ticket`);
      if (closed) return;
      const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/servers/${id}/console?ticket=${encodeURIComponent(ticket)}`;
      ws = new WebSocket(url, PROTOCOL);
      ws.onopen = () => { setState('open'); send({ type: 'resize', cols: term.cols, rows: term.rows }); term.focus(); };
      ws.onclose = (e) => setState(`closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
      ws.onmessage = (e) => {
        const frame = JSON.parse(String(e.data));
        if (frame.type === 'output') term.write(frame.data);
        else if (frame.type === 'status') setState(frame.state);
        else if (frame.type === 'exit') term.write(`\r\n[process exited: ${frame.code ?? frame.signal}]\r\n`);
        else if (frame.type === 'expiring') term.write(`\r\n[console closes in ${frame.inSeconds} s]\r\n`);
      };
    })().catch((err) => setState(`error: ${(err as Error).message}`));
    const input = term.onData((data) => send({ type: 'input', data }));
    const resized = term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current!);
    return () => {
      closed = true;
      observer.disconnect();
      input.dispose();
      resized.dispose();
      ws?.close();
      term.dispose();
    };
  }, [id]);
  return (
    <>
      <p class="muted" role="status" aria-live="polite">Console: <span id="console-state">{state}</span></p>
      <div class="terminal" ref={box} aria-label="Server console" />
    </>
  );
}
