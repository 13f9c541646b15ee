// The zod schema of generateUnattend's options, so the same options can come from a YAML or
// JSON file (`deployforge unattend generate`) and, later, a recipe's unattend step.
import { z } from 'zod';
import type { GenerateUnattendOptions } from './generate.js';

const Locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$|^[0-9a-fA-F]{4}:[0-9a-fA-F]{8}$/, 'a language tag like en-US (or a keyboard id like 0409:00000409)');

export const UnattendOptionsSchema = z
  .object({
    architecture: z.enum(['amd64', 'arm64', 'x86']),
    languages: z.object({ uiLanguage: Locale, inputLocale: Locale.optional(), systemLocale: Locale.optional(), userLocale: Locale.optional() }).strict().optional(),
    timeZone: z.string().min(1).optional(),
    productKey: z
      .string()
      .regex(/^([A-Z0-9]{5}-){4}[A-Z0-9]{5}$/, 'a product key like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX')
      .optional(),
    acceptEula: z.boolean().optional(),
    disk: z
      .union([z.object({ mode: z.literal('interactive') }).strict(), z.object({ mode: z.literal('wipe-gpt'), diskId: z.number().int().min(0).optional() }).strict()])
      .optional(),
    bypassRequirements: z
      .union([z.boolean(), z.object({ tpm: z.boolean(), secureBoot: z.boolean(), ram: z.boolean(), cpu: z.boolean(), storage: z.boolean() }).partial().strict()])
      .optional(),
    accounts: z
      .array(
        z
          .object({
            name: z.string().min(1),
            password: z.string().optional(),
            displayName: z.string().optional(),
            group: z.string().optional(),
            description: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
    autoLogon: z
      .object({ username: z.string().min(1), count: z.number().int().min(1).max(999) })
      .strict()
      .optional(),
    skipOobe: z.boolean().optional(),
    computerName: z.string().min(1).max(15).optional(),
    firstLogonCommands: z.array(z.object({ commandLine: z.string().min(1), description: z.string().optional(), requiresUserInput: z.boolean().optional() }).strict()).optional(),
  })
  .strict() satisfies z.ZodType<GenerateUnattendOptions>;
