import type { Logger } from '../log.js';
import type { Database } from '../store/db.js';
import { countUsers, createUser, UserExistsError } from '../store/users.js';
import { randomBase32 } from './passwords.js';

export const INITIAL_ADMIN = 'admin';

/**
 * On a store without users, creates the administrator `admin` with a random password and
 * prints it once through `print` (it is stored only as a hash). Returns whether it created one.
 */
export async function ensureInitialAdmin(db: Database, log: Logger, print: (text: string) => void): Promise<boolean> {
  if ((await countUsers(db)) > 0) return false;
  // 20 base32 characters: 100 random bits.
  const password = randomBase32(20);
  try {
    await createUser(db, { name: INITIAL_ADMIN, password, isAdmin: true });
  } catch (error) {
    // Another process sharing the database created it first: theirs is the one printed.
    if (error instanceof UserExistsError) return false;
    throw error;
  }
  log.info('created the initial administrator', { user: INITIAL_ADMIN });
  print(
    [
      'Created the first user, an administrator:',
      `  user:     ${INITIAL_ADMIN}`,
      `  password: ${password}`,
      `Change it with: npm run user -- passwd ${INITIAL_ADMIN}`,
      '',
    ].join('\n'),
  );
  return true;
}
