// The editions a sample install image can hold, in the order retail multi-edition media list
// them, with the registry identity Windows records for each (EditionID, ProductName).

export interface SampleEdition {
  name: string;
  editionId: string;
  description: string;
}

export const SAMPLE_EDITIONS: readonly SampleEdition[] = [
  { name: 'Windows 11 Home', editionId: 'Core', description: 'Windows 11 Home' },
  { name: 'Windows 11 Home N', editionId: 'CoreN', description: 'Windows 11 Home N' },
  { name: 'Windows 11 Home Single Language', editionId: 'CoreSingleLanguage', description: 'Windows 11 Home Single Language' },
  { name: 'Windows 11 Education', editionId: 'Education', description: 'Windows 11 Education' },
  { name: 'Windows 11 Education N', editionId: 'EducationN', description: 'Windows 11 Education N' },
  { name: 'Windows 11 Pro', editionId: 'Professional', description: 'Windows 11 Pro' },
  { name: 'Windows 11 Pro N', editionId: 'ProfessionalN', description: 'Windows 11 Pro N' },
  { name: 'Windows 11 Pro Education', editionId: 'ProfessionalEducation', description: 'Windows 11 Pro Education' },
  { name: 'Windows 11 Pro Education N', editionId: 'ProfessionalEducationN', description: 'Windows 11 Pro Education N' },
  { name: 'Windows 11 Pro for Workstations', editionId: 'ProfessionalWorkstation', description: 'Windows 11 Pro for Workstations' },
  { name: 'Windows 11 Pro N for Workstations', editionId: 'ProfessionalWorkstationN', description: 'Windows 11 Pro N for Workstations' },
];

/** The Windows version the sample media pretend to be: 24H2, build 26100. */
export const SAMPLE_VERSION = { major: 10, minor: 0, build: 26100, ubr: 1742, displayVersion: '24H2', language: 'en-US', lcid: 0x0409 } as const;
