import { Readable } from 'node:stream';
import yazl from 'yazl';
import type { ServerDeps } from '../dav/context.js';
import { openBody } from '../store/blobs.js';
import { getNode, listSubtree, resolvePath } from '../store/nodes.js';
import type { CollectionSpace } from './api-types.js';
import { listCollections } from './collections.js';
import { exportCollection } from './objects.js';

/** Files listed in one archive at most (the listing is held in memory; of the bodies, only a small one at a time). */
const MAX_ENTRIES = 1_000_000;

/** A name safe as a zip entry: yazl reads '\' as a separator, which a DAV name may contain. */
function entryName(name: string): string {
  return name.replace(/\\/g, '_');
}

/**
 * Everything a user owns as one zip, streamed: each calendar as an .ics, each address book as a
 * .vcf, and the files as they are (with their folders and modification times). Bodies are read
 * one at a time as the archive is written; ZIP64 is used where sizes need it.
 */
export async function accountArchive(deps: ServerDeps, user: { id: number; name: string }): Promise<Readable> {
  const zip = new yazl.ZipFile();
  const lazy = (path: string, open: () => Readable | Promise<Readable | Buffer>, mtime?: Date) =>
    zip.addReadStreamLazy(path, { ...(mtime && { mtime }), compress: false }, (done) => {
      Promise.resolve()
        .then(open)
        .then(
          (body) => done(null, Buffer.isBuffer(body) ? Readable.from([body]) : body),
          (error: unknown) => done(error as Error, undefined as unknown as Readable),
        );
    });

  for (const space of ['calendars', 'addressbooks'] as CollectionSpace[]) {
    const folder = space === 'calendars' ? 'calendars' : 'contacts';
    for (const c of await listCollections(deps, '/', user, space)) {
      const node = await getNode(deps.db, user.id, c.id);
      if (!node) continue;
      lazy(`${folder}/${entryName(c.name)}.${space === 'calendars' ? 'ics' : 'vcf'}`, () => exportCollection(deps.db, space, node, c.displayName));
    }
  }

  const { node: root } = await resolvePath(deps.db, user.id, ['files']);
  if (root) {
    for (const { node, path } of await listSubtree(deps.db, user.id, root.id, MAX_ENTRIES)) {
      if (path.length === 0) continue;
      const name = `files/${path.map(entryName).join('/')}`;
      if (node.kind === 'collection') zip.addEmptyDirectory(name, { mtime: node.modifiedAt });
      else if (node.blobSha256) lazy(name, () => openBody(deps.db, deps.blobs, user.id, node.blobSha256!, node.size), node.modifiedAt);
      else zip.addBuffer(Buffer.alloc(0), name, { mtime: node.modifiedAt });
    }
  }
  zip.end();
  return zip.outputStream as Readable;
}
