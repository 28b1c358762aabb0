import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, whenSignedOut } from './api';
import { AccountView } from './views/account';
import { AdminView } from './views/admin';
import { CollectionsView } from './views/collections';
import { DevicesView } from './views/devices';
import { FilesView } from './views/files';
import { LoginView } from './views/login';
import { OverviewView } from './views/overview';

export interface SignedIn {
  name: string;
  isAdmin: boolean;
}

interface SessionAnswer {
  user: SignedIn;
  csrfToken: string;
}

/** The route is the part after '#/': hash routing keeps every page under the one shell, whatever the server's path. */
function currentRoute(): string[] {
  const raw = location.hash.replace(/^#\/?/, '');
  return raw === '' ? [] : raw.split('/').map((s) => decodeURIComponent(s));
}

function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => {
      setRoute(currentRoute());
      // Move focus to the new page's heading, so keyboard and screen-reader users land on it.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
    };
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

const PAGES: Array<{ route: string; label: string; admin?: boolean }> = [
  { route: '', label: 'Overview' },
  { route: 'devices', label: 'Connect a device' },
  { route: 'calendars', label: 'Calendars' },
  { route: 'contacts', label: 'Contacts' },
  { route: 'files', label: 'Files' },
  { route: 'account', label: 'Account' },
  { route: 'admin', label: 'Users', admin: true },
];

export function App() {
  const [user, setUser] = useState<SignedIn | null | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    whenSignedOut(() => setUser(null));
    api<SessionAnswer>('GET', 'session').then(
      (answer) => {
        setCsrfToken(answer.csrfToken);
        setUser(answer.user);
      },
      () => setUser(null),
    );
  }, []);

  if (user === undefined) return <p class="loading">Loading…</p>;
  if (user === null) {
    return (
      <LoginView
        onSignedIn={(answer: SessionAnswer) => {
          setCsrfToken(answer.csrfToken);
          setUser(answer.user);
        }}
      />
    );
  }

  const signOut = async () => {
    await api('DELETE', 'session').catch(() => {});
    setCsrfToken('');
    setUser(null);
    location.hash = '';
  };

  const page = route[0] ?? '';
  let view;
  switch (page) {
    case 'devices':
      view = <DevicesView />;
      break;
    case 'calendars':
      view = <CollectionsView space="calendars" />;
      break;
    case 'contacts':
      view = <CollectionsView space="addressbooks" />;
      break;
    case 'files':
      view = <FilesView path={route.slice(1)} />;
      break;
    case 'account':
      view = <AccountView user={user} />;
      break;
    case 'admin':
      view = user.isAdmin ? <AdminView self={user.name} /> : <NotFound />;
      break;
    case '':
      view = <OverviewView />;
      break;
    default:
      view = <NotFound />;
  }

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Davenport</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.filter((p) => !p.admin || user.isAdmin).map((p) => (
              <li key={p.route}>
                <a href={`#/${p.route}`} aria-current={page === p.route ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span aria-label="Signed in as">{user.name}</span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no such page. <a href="#/">Back to the overview</a>.
      </p>
    </section>
  );
}
