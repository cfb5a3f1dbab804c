import { z } from 'zod';

/** Column roles a CSV list can map; canonical person fields plus consent and activity columns. */
export const COLUMN_ROLES = [
  'id',
  'email',
  'phone',
  'mobilePhone',
  'firstName',
  'lastName',
  'company',
  'jobTitle',
  'address',
  'city',
  'postalCode',
  'country',
  'dateOfBirth',
  'notes',
  'optOut',
  'legalBasis',
  'lastActivity',
  'updatedAt',
] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

export const CsvOptionsSchema = z
  .object({
    /** Folder holding the lists, one CSV file per list. Relative paths resolve from the config file. */
    dir: z.string().min(1),
    /** Only these lists (file names without extension); default: every list in the folder. */
    lists: z.array(z.string().min(1)).optional(),
    /** File name suffix of lists in the folder. @default ".csv" */
    extension: z.string().default('.csv'),
    /** @default "," */
    delimiter: z.string().length(1).default(','),
    /** Column header for each role; unmapped roles are absent from the lists. */
    columns: z.partialRecord(z.enum(COLUMN_ROLES), z.string().min(1)).default({
      id: 'id',
      email: 'email',
      phone: 'phone',
      firstName: 'first_name',
      lastName: 'last_name',
      company: 'company',
      notes: 'notes',
      optOut: 'opted_out',
      legalBasis: 'legal_basis',
      lastActivity: 'last_activity',
    }),
    /** Rows per page handed to the sync engine. @default 1000 */
    pageSize: z.number().int().min(1).max(50_000).default(1000),
    /**
     * The lock every erase, update and opt-out holds on a list across processes (`custodian worker`s
     * sharing the folder) for its whole read-modify-write cycle.
     */
    lock: z
      .object({
        /** Longest wait for another process to finish with the list before failing with CUSTODIAN_ERR_CSV_LIST_LOCKED. @default 90000 */
        waitMs: z.number().int().min(0).max(3_600_000).default(90_000),
        /**
         * A lock not refreshed for this long belongs to a dead process (SIGKILL, power loss) and is taken over.
         * Keep it well above the longest the event loop may stall on parsing the largest list. @default 30000
         */
        staleMs: z.number().int().min(2000).max(3_600_000).default(30_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type CsvOptions = z.output<typeof CsvOptionsSchema>;
