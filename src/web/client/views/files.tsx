import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, sendFile } from '../api';
import { encodePath, formatBytes, formatDate } from '../format';
import { Page, Status, useFeedback } from './common';

interface Entry {
  name: string;
  folder: boolean;
  size: number;
  contentType: string | null;
  modified: string;
}

interface Upload {
  name: string;
  sent: number;
  total: number;
}

const query = (segments: string[]) => `path=${encodeURIComponent(segments.join('/'))}`;

export function FilesView({ path }: { path: string[] }) {
  const [entries, setEntries] = useState<Entry[]>();
  const [folderName, setFolderName] = useState('');
  const [upload, setUpload] = useState<Upload>();
  const [dragging, setDragging] = useState(false);
  const key = path.join('/');

  const { error, setError, info, setInfo, run } = useFeedback(() => load(), { reloadOnFailure: true });
  const load = () => api<{ entries: Entry[] }>('GET', `files?${query(path)}`).then((d) => setEntries(d.entries), (e) => setError(messageOf(e)));
  useEffect(() => {
    setEntries(undefined);
    setError(undefined);
    setInfo(undefined);
    void load();
  }, [key]);


  /** One file after another: each streamed from disk by the browser, with its progress shown. */
  const uploadFiles = (files: File[]) =>
    run(async () => {
      for (const file of files) {
        setUpload({ name: file.name, sent: 0, total: file.size });
        await sendFile('PUT', `files/content?${query([...path, file.name])}`, file, file.type || 'application/octet-stream', (sent, total) =>
          setUpload({ name: file.name, sent, total }),
        ).finally(() => setUpload(undefined));
      }
    }, files.length === 1 ? `Uploaded ${files[0]!.name}.` : `Uploaded ${files.length} files.`);

  const newFolder = (e: Event) => {
    e.preventDefault();
    const name = folderName.trim();
    void run(async () => {
      await api('POST', 'files/folder', { path: [...path, name].join('/') });
      setFolderName('');
    }, `Created folder ${name}.`);
  };

  const rename = (entry: Entry) => {
    const name = prompt(`New name for “${entry.name}”`, entry.name)?.trim();
    if (!name || name === entry.name) return;
    void run(() => api('POST', 'files/move', { from: [...path, entry.name].join('/'), to: [...path, name].join('/') }), `Renamed to ${name}.`);
  };

  const move = (entry: Entry) => {
    const target = prompt(`Move “${entry.name}” to which folder? (a path such as Photos/2024; empty for the top)`, path.join('/'));
    if (target === null) return;
    const folder = target.split('/').filter(Boolean);
    void run(() => api('POST', 'files/move', { from: [...path, entry.name].join('/'), to: [...folder, entry.name].join('/') }), `Moved ${entry.name}.`);
  };

  const remove = (entry: Entry) => {
    if (!confirm(`Delete “${entry.name}”${entry.folder ? ' and everything in it' : ''}?`)) return;
    void run(() => api('DELETE', `files?${query([...path, entry.name])}`), `Deleted ${entry.name}.`);
  };

  const percent = upload && upload.total > 0 ? Math.round((upload.sent / upload.total) * 100) : 0;

  return (
    <Page title="Files">
      <nav aria-label="Folder" class="crumbs">
        <ol>
          <li>
            <a href="#/files">Files</a>
          </li>
          {path.map((name, i) => (
            <li key={i}>
              <a href={`#/files/${encodePath(path.slice(0, i + 1))}`} aria-current={i === path.length - 1 ? 'page' : undefined}>
                {name}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      <div class="toolbar">
        <label class="button" for="upload-input">
          Upload files
        </label>
        <input
          id="upload-input"
          class="visually-hidden"
          type="file"
          multiple
          aria-label="Upload files"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            if (files.length > 0) void uploadFiles(files);
          }}
        />
        <form onSubmit={newFolder} class="inline">
          <label for="folder-name">New folder</label>
          <input id="folder-name" required value={folderName} onInput={(e) => setFolderName(e.currentTarget.value)} />
          <button type="submit" class="secondary">
            Create
          </button>
        </form>
      </div>
      {upload && (
        <div class="upload">
          <label for="upload-progress">
            Uploading {upload.name}: {formatBytes(upload.sent)} of {formatBytes(upload.total)} ({percent}%)
          </label>
          <progress id="upload-progress" max={upload.total || 1} value={upload.sent} />
        </div>
      )}
      <Status error={error} info={info} />
      <div
        class={`drop${dragging ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const files = [...(e.dataTransfer?.files ?? [])];
          if (files.length > 0) void uploadFiles(files);
        }}
      >
        {entries === undefined ? (
          <p>Loading…</p>
        ) : entries.length === 0 ? (
          <p>This folder is empty. Drop files here or use “Upload files”.</p>
        ) : (
          <table class="list files">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col" class="wide">
                  Modified
                </th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.name}>
                  <td class="name">
                    {entry.folder ? (
                      <a href={`#/files/${encodePath([...path, entry.name])}`}>📁 {entry.name}</a>
                    ) : (
                      <a href={`api/files/content?${query([...path, entry.name])}`} download={entry.name}>
                        {entry.name}
                      </a>
                    )}
                  </td>
                  <td class="num">{entry.folder ? '' : formatBytes(entry.size)}</td>
                  <td class="wide">{formatDate(entry.modified)}</td>
                  <td class="row-actions">
                    <button type="button" class="small secondary" onClick={() => rename(entry)} aria-label={`Rename ${entry.name}`}>
                      Rename
                    </button>
                    <button type="button" class="small secondary" onClick={() => move(entry)} aria-label={`Move ${entry.name}`}>
                      Move
                    </button>
                    <button type="button" class="small danger" onClick={() => remove(entry)} aria-label={`Delete ${entry.name}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Page>
  );
}
