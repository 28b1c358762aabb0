import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, sendFile } from '../api';
import { Page, Status, useFeedback } from './common';
import type { CollectionInfo as Collection, CollectionSpace as Space, ImportReport } from '../../api-types.js';




const WORDS = {
  calendars: { title: 'Calendars', one: 'calendar', items: 'events and tasks', ext: '.ics', type: 'text/calendar' },
  addressbooks: { title: 'Address books', one: 'address book', items: 'contacts', ext: '.vcf', type: 'text/vcard' },
} as const;

export function CollectionsView({ space }: { space: Space }) {
  const words = WORDS[space];
  const [list, setList] = useState<Collection[]>([]);
  const [name, setName] = useState('');
  const [color, setColor] = useState('#3478f6');
  const [report, setReport] = useState<{ name: string; report: ImportReport }>();

  const { error, setError, info, setInfo, run } = useFeedback(() => load());
  const load = () => api<{ collections: Collection[] }>('GET', space).then((d) => setList(d.collections), (e) => setError(messageOf(e)));
  useEffect(() => {
    setList([]);
    setReport(undefined);
    void load();
  }, [space]);


  const create = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api('POST', space, space === 'calendars' ? { displayName: name, color } : { displayName: name });
      setName('');
    }, `Created “${name}”.`);
  };

  const importFile = (c: Collection, file: File) =>
    run(async () => {
      setInfo(`Importing ${file.name}…`);
      const result = await sendFile<ImportReport>('POST', `${space}/${c.id}/import`, file, words.type);
      setReport({ name: file.name, report: result });
    });

  return (
    <Page title={words.title}>
      <form onSubmit={create} class="inline">
        <label for="new-collection">New {words.one}</label>
        <input id="new-collection" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        {space === 'calendars' && (
          <>
            <label for="new-color">Colour</label>
            <input id="new-color" type="color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
          </>
        )}
        <button type="submit">Create</button>
      </form>
      <Status error={error} info={info} />
      {report && (
        <div class="report" role="status">
          <p>
            {report.name}: {report.report.created} added, {report.report.updated} updated
            {report.report.failed.length > 0 ? `, ${report.report.failed.length} not imported:` : '.'}
          </p>
          {report.report.failed.length > 0 && (
            <ul>
              {report.report.failed.map((f) => (
                <li key={`${f.line}-${f.message}`}>
                  Line {f.line}: {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ul class="collections">
        {list.map((c) => (
          <CollectionItem key={c.id} space={space} collection={c} run={run} onImport={(file) => importFile(c, file)} />
        ))}
      </ul>
    </Page>
  );
}

interface ItemProps {
  space: Space;
  collection: Collection;
  run(work: () => Promise<unknown>, done?: string): Promise<void>;
  onImport(file: File): Promise<void>;
}

function CollectionItem({ space, collection: c, run, onImport }: ItemProps) {
  const words = WORDS[space];
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(c.displayName);
  const [color, setColor] = useState(c.color ?? '#3478f6');
  const id = `c${c.id}`;

  const save = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api('PATCH', `${space}/${c.id}`, space === 'calendars' ? { displayName: label, color } : { displayName: label });
      setEditing(false);
    }, 'Saved.');
  };
  const remove = () => {
    if (!confirm(`Delete “${c.displayName}” and its ${c.count} ${words.items}? This cannot be undone.`)) return;
    void run(() => api('DELETE', `${space}/${c.id}`), `Deleted “${c.displayName}”.`);
  };

  return (
    <li class="collection" aria-labelledby={`${id}-name`}>
      <div class="head">
        {space === 'calendars' && <span class="swatch" style={{ background: c.color ?? 'transparent' }} aria-hidden="true" />}
        <h2 id={`${id}-name`}>{c.displayName}</h2>
        <span class="muted">
          {c.count} {words.items}
        </span>
      </div>
      <p class="muted small">
        Address for clients: <code>{c.href}</code>
      </p>
      {editing ? (
        <form onSubmit={save} class="inline">
          <label for={`${id}-label`}>Name</label>
          <input id={`${id}-label`} required value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
          {space === 'calendars' && (
            <>
              <label for={`${id}-color`}>Colour</label>
              <input id={`${id}-color`} type="color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
            </>
          )}
          <button type="submit">Save</button>
          <button type="button" class="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div class="actions">
          <button type="button" class="secondary" onClick={() => setEditing(true)} aria-label={`Rename or recolour ${c.displayName}`}>
            Edit
          </button>
          <label class="button secondary" for={`${id}-import`}>
            Import {words.ext}
          </label>
          <input
            id={`${id}-import`}
            class="visually-hidden"
            type="file"
            accept={`${words.ext},${words.type}`}
            aria-label={`Import a ${words.ext} file into ${c.displayName}`}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              e.currentTarget.value = '';
              if (file) void onImport(file);
            }}
          />
          <a class="button secondary" href={`api/${space}/${c.id}/export`} download aria-label={`Export ${c.displayName} as ${words.ext}`}>
            Export {words.ext}
          </a>
          <button type="button" class="danger" onClick={remove} aria-label={`Delete ${c.displayName}`}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}
