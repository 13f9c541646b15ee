// Generic keys that pick an edition in Windows Setup (windowsPE UserData/ProductKey/Key). They
// install, they do not activate. Only keys Microsoft publishes are here: the KMS client setup keys
// (GVLKs) of "Key Management Services (KMS) client activation and product keys",
// https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys (one key per
// edition, the same for Windows 10 and 11). Home editions have no published key, so they are
// absent: choose them by image name or index instead.

/** Edition → generic volume license key, as Microsoft's table lists them. */
export const GENERIC_EDITION_KEYS = {
  pro: 'W269N-WFGWX-YVC9B-4J6C9-T83GX',
  'pro-n': 'MH37W-N47XK-V7XM9-C7227-GCQG9',
  'pro-workstation': 'NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J',
  'pro-workstation-n': '9FNHH-K3HBT-3W4TD-6383H-6XYWF',
  'pro-education': '6TP4R-GNPTD-KYYHQ-7B7DP-J447Y',
  'pro-education-n': 'YVWGF-BXNMC-HTQYQ-CPQ99-66QFC',
  education: 'NW6C2-QMPVW-D7KKK-3GKT6-VCFB2',
  'education-n': '2WH4N-8QGBV-H22JP-CT43Q-MDWWJ',
  enterprise: 'NPPR9-FWDCX-D2C8J-H872K-2YT43',
  'enterprise-n': 'DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4',
  'enterprise-g': 'YYVX9-NTFWV-6MDM3-9PT4T-4M68B',
  'enterprise-g-n': '44RPN-FTY23-9VTTB-MP9BX-T84FV',
  // "Windows 11 Enterprise LTSC 2024 / Windows 10 Enterprise LTSC 2021, 2019" share one key.
  'enterprise-ltsc': 'M7XTQ-FN8P6-TTKYV-9D4CC-J462D',
  'enterprise-n-ltsc': '92NFX-8DJQP-P6BBQ-THF9C-7CG2H',
  'iot-enterprise-ltsc': 'KBN8V-HFGQ4-MGXVD-347P6-PDQGT',
} as const;

export type GenericKeyEdition = keyof typeof GENERIC_EDITION_KEYS;

export const GENERIC_KEY_EDITIONS = Object.keys(GENERIC_EDITION_KEYS) as GenericKeyEdition[];

/**
 * What Setup treats as "ask for a key": all zeros with WillShowUI Always shows the product-key
 * page, where "I don't have a product key" leads to the edition list (cschneegans/unattend-generator
 * issue #170 describes this pair of values).
 */
export const INTERACTIVE_PRODUCT_KEY = '00000-00000-00000-00000-00000';
