import type { ComponentChildren } from 'preact';

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
