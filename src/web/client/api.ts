/** The JSON API under api/ (relative, so the pages work under any BASE_URL path). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

/** The session's token, sent with every change (X-CSRF-Token). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function getCsrfToken(): string {
  return csrfToken;
}

/** Called when the server says the session is gone (signed out elsewhere, expired). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

async function failure(status: number, text: string): Promise<ApiError> {
  let message = `The server answered ${status}.`;
  try {
    const data = JSON.parse(text) as { error?: string };
    if (data.error) message = data.error.charAt(0).toUpperCase() + data.error.slice(1) + (/[.!?]$/.test(data.error) ? '' : '.');
  } catch {
    // not JSON: keep the status
  }
  if (status === 401 && csrfToken) onSignedOut();
  return new ApiError(status, message);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(`api/${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await response.text();
  if (!response.ok) throw await failure(response.status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Sends a file as the request body (streamed from disk by the browser), reporting progress. */
export function sendFile<T>(method: string, path: string, file: Blob, contentType: string, onProgress?: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `api/${path}`);
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.setRequestHeader('Content-Type', contentType);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T);
      else reject(await failure(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'The connection failed.'));
    xhr.onabort = () => reject(new ApiError(0, 'The upload was cancelled.'));
    xhr.send(file);
  });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
