// Public entry of the PPKG format folder: package facts from a provisioning package's WIM XML
// and its customizations.xml. Opening the file itself is openWim's job (a PPKG is a WIM).

export { type PackageConfig, readPackageConfig } from './package-config.js';
export { isPpkgXml, type PpkgInfo, type PpkgOwnerType, parsePpkgNotes, readPpkgInfo } from './package-info.js';
