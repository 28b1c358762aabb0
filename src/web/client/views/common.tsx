import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { messageOf } from '../api';

/**
 * A view's messages and the one way its actions report into them: `run` clears both, shows
 * `done` on success or the failure's message, then reloads the view (after a failure too when
 * `reloadOnFailure`, where part of a batch may have landed).
 */
export function useFeedback(reload: () => Promise<unknown>, options: { reloadOnFailure?: boolean } = {}) {
  const [error, setError] = useState<string>();
  const [info, setInfo] = useState<string>();
  const run = async (work: () => Promise<unknown>, done?: string) => {
    setError(undefined);
    setInfo(undefined);
    try {
      await work();
      if (done) setInfo(done);
      if (!options.reloadOnFailure) await reload();
    } catch (err) {
      setError(messageOf(err));
    }
    if (options.reloadOnFailure) await reload();
  };
  return { error, setError, info, setInfo, run };
}

/** A message region screen readers announce when it changes. */
export function Status({ error, info }: { error?: string | undefined; info?: string | undefined }) {
  return (
    <div aria-live="polite" class="status">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {info && <p class="info">{info}</p>}
    </div>
  );
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h1 tabIndex={-1}>{title}</h1>
      {children}
    </section>
  );
}

/** A value people copy into another device, with a button that copies it. */
export function Copyable({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="copyable">
      <span class="label" id={`${id}-label`}>
        {label}
      </span>
      <code id={id} aria-labelledby={`${id}-label`}>
        {value}
      </code>
      <button type="button" class="small" aria-label={`Copy ${label.toLowerCase()}`} onClick={() => navigator.clipboard?.writeText(value)}>
        Copy
      </button>
    </div>
  );
}
