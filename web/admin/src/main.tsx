import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { prefetch, session, signOut } from './api';
import { SignIn } from './pages/sign-in';
import { Fleet, fleetPath } from './pages/fleet';
import { Server } from './pages/server';
import { Users } from './pages/users';
import { Queues } from './pages/queues';
import { Repairs } from './pages/repairs';
import { Tickets } from './pages/tickets';
import { Outbox } from './pages/outbox';
import { Maintenance } from './pages/maintenance';
import css from './style.css?inline';

const NAV: Array<[string, string]> = [
  ['#/', 'Fleet'], ['#/users', 'Users'], ['#/queues', 'Queues'], ['#/repairs', 'Repairs'],
  ['#/tickets', 'Tickets'], ['#/outbox', 'Outbox'], ['#/maintenance', 'Maintenance'],
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function page(hash: string) {
  const [path] = hash.slice(1).split('?');
  const server = /^\/servers\/([0-9a-f-]{36})$/.exec(path);
  if (server) return <Server id={server[1]} />;
  switch (path) {
    case '/users': return <Users />;
    case '/queues': return <Queues />;
    case '/repairs': return <Repairs />;
    case '/tickets': return <Tickets />;
    case '/outbox': return <Outbox />;
    case '/maintenance': return <Maintenance />;
    default: return <Fleet />;
  }
}

function App() {
  const [signedIn, setSignedIn] = useState(() => session.get());
  useEffect(() => session.subscribe(() => setSignedIn(session.get())), []);
  const hash = useHash();
  useEffect(() => { document.title = `zpack operator console`; }, [hash]);
  if (!signedIn) return <SignIn />;
  const current = `#${hash.slice(1).split('?')[0]}`;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">zpack operator</span>
        <nav aria-label="Sections">
          {NAV.map(([href, label]) => <a key={href} href={href} aria-current={current === href ? 'page' : undefined}>{label}</a>)}
        </nav>
        <span class="who">{signedIn.email}</span>
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>{page(hash)}</main>
    </>
  );
}

// The styles travel inside this script: a stylesheet of its own would be one more request, and the
// browser holds module scripts (so the first API request too) until every stylesheet before them is in.
const style = document.createElement('style');
style.textContent = css;
document.head.append(style);

// The fleet page's rows are what an operator waits for: asked for before anything renders.
if (session.get() && page(location.hash || '#/').type === Fleet) prefetch(fleetPath());
render(<App />, document.getElementById('app')!);
