// The zod schema of generateUnattend's options, so the same options can come from a YAML or
// JSON file (`deployforge unattend generate`) and a recipe's unattend step. It checks shapes and
// ranges field by field; rules that span fields (auto-logon user among the accounts, script names
// unique across stages) are generateUnattend's, which reports them all at once.
import { z } from 'zod';
import { GENERIC_KEY_EDITIONS } from './edition-keys.js';
import type { GenerateUnattendOptions } from './generate.js';
import { SCRIPT_NAME } from './generate-scripts.js';

const Locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$|^[0-9a-fA-F]{4}:[0-9a-fA-F]{8}$/, 'a language tag like en-US (or a keyboard id like 0409:00000409)');
const ProductKey = z.string().regex(/^([A-Z0-9]{5}-){4}[A-Z0-9]{5}$/, 'a product key like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX');
const SizeMb = (min: number) => z.number().int().min(min, `at least ${min} (megabytes)`);
const Recovery = z.union([z.boolean(), z.object({ sizeMb: SizeMb(300) }).strict()], { error: 'true, false or { sizeMb } (at least 300)' });

const Script = z
  .object({
    name: z.string().regex(SCRIPT_NAME, 'a file name of letters, digits, . _ - (at most 60), e.g. tweaks.ps1'),
    language: z.enum(['ps1', 'cmd', 'reg']),
    content: z.string().min(1, 'the script is empty'),
  })
  .strict();

const SpecializeCommand = z.object({ commandLine: z.string().min(1).max(259, 'Windows allows at most 259 characters'), description: z.string().max(256).optional() }).strict();

export const UnattendOptionsSchema = z
  .object({
    architecture: z.enum(['amd64', 'arm64', 'x86']),
    languages: z
      .object({
        uiLanguage: Locale,
        inputLocale: z.union([Locale, z.array(Locale).min(1)]).optional(),
        systemLocale: Locale.optional(),
        userLocale: Locale.optional(),
        fallback: Locale.optional().describe('UILanguageFallback: language for resources not translated into uiLanguage'),
      })
      .strict()
      .optional(),
    timeZone: z.string().min(1).optional(),
    productKey: ProductKey.optional(),
    edition: z
      .union(
        [
          z.object({ productKey: ProductKey }).strict(),
          z.object({ genericKeyFor: z.enum(GENERIC_KEY_EDITIONS) }).strict(),
          z.object({ imageIndex: z.number().int().min(1, 'image indexes start at 1') }).strict(),
          z.object({ imageName: z.string().min(1) }).strict(),
          z.object({ interactive: z.literal(true) }).strict(),
        ],
        { error: `one of { productKey }, { genericKeyFor: ${GENERIC_KEY_EDITIONS.join(' | ')} }, { imageIndex }, { imageName } or { interactive: true }` },
      )
      .optional(),
    acceptEula: z.boolean().optional(),
    disk: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('interactive') }).strict(),
        z
          .object({
            mode: z.literal('wipe-gpt'),
            diskId: z.number().int().min(0).optional(),
            recovery: Recovery.optional(),
            efiSizeMb: SizeMb(100).optional(),
            windowsSizeMb: SizeMb(1).optional(),
          })
          .strict(),
        z.object({ mode: z.literal('wipe-mbr'), diskId: z.number().int().min(0).optional(), recovery: Recovery.optional(), windowsSizeMb: SizeMb(1).optional() }).strict(),
      ])
      .optional(),
    compactOs: z.boolean().optional(),
    bypassRequirements: z
      .union([z.boolean(), z.object({ tpm: z.boolean(), secureBoot: z.boolean(), ram: z.boolean(), cpu: z.boolean(), storage: z.boolean() }).partial().strict()])
      .optional(),
    driverPaths: z
      .object({ windowsPE: z.array(z.string().min(1)).optional(), offlineServicing: z.array(z.string().min(1)).optional() })
      .strict()
      .optional(),
    packages: z
      .array(
        z
          .string()
          .min(1)
          .regex(/^[^"]*$/, 'a path without quotes'),
      )
      .optional()
      .describe('.cab/.msu paths as Windows sees them during setup, installed with DISM in specialize'),
    servicingPackages: z
      .array(
        z
          .object({
            path: z.string().min(1),
            identity: z
              .object({
                name: z.string().min(1),
                version: z.string().regex(/^\d+(\.\d+){3}$/, 'a version like 10.0.26100.1'),
                processorArchitecture: z.string().min(1).optional(),
                publicKeyToken: z
                  .string()
                  .regex(/^[0-9a-f]{16}$/, '16 hex digits')
                  .optional(),
                language: z.string().min(1).optional(),
              })
              .strict(),
          })
          .strict(),
      )
      .optional(),
    accounts: z
      .array(
        z
          .object({
            name: z.string().min(1),
            password: z.string().optional(),
            displayName: z.string().optional(),
            group: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
            description: z.string().optional(),
            forcePasswordChange: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    administrator: z.object({ enabled: z.boolean(), password: z.string().optional() }).strict().optional(),
    autoLogon: z
      .object({ username: z.string().min(1), count: z.number().int().min(1).max(999) })
      .strict()
      .optional(),
    skipOobe: z.boolean().optional(),
    oobe: z
      .object({
        hideEula: z.boolean().optional(),
        hideOemRegistration: z.boolean().optional(),
        hideOnlineAccountScreens: z.boolean().optional(),
        hideWirelessSetup: z.boolean().optional(),
        hideLocalAccountScreen: z.boolean().optional(),
        protectYourPC: z.union([z.literal(1), z.literal(2), z.literal(3)], { error: '1 (recommended), 2 (updates only) or 3 (none)' }).optional(),
        bypassNRO: z.boolean().optional().describe('Let OOBE finish without a network (OOBE\\BypassNRO=1, set in specialize). Windows honours it only while the PC is offline.'),
      })
      .strict()
      .optional(),
    computerName: z
      .union([z.string().min(1).max(15), z.object({ random: z.literal(true) }).strict(), z.object({ pattern: z.string().min(1).max(15) }).strict()], {
        error: 'a name (at most 15 characters), { random: true } or { pattern } (# = digit, ? = letter)',
      })
      .optional(),
    deviceEncryption: z.boolean().optional().describe('false: Windows does not turn on device encryption (BitLocker) by itself'),
    sMode: z.boolean().optional().describe('false: not in S mode; true: S mode (CodeIntegrity SkuPolicyRequired, offlineServicing)'),
    specializeCommands: z.array(SpecializeCommand).optional(),
    firstLogonCommands: z
      .array(
        z
          .object({
            commandLine: z.string().min(1).max(1024, 'Windows allows at most 1024 characters'),
            description: z.string().max(256).optional(),
            requiresUserInput: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    scripts: z
      .object({ system: z.array(Script).optional(), defaultUser: z.array(Script).optional(), firstLogon: z.array(Script).optional(), everyNewUser: z.array(Script).optional() })
      .strict()
      .optional(),
  })
  .strict() satisfies z.ZodType<GenerateUnattendOptions>;
