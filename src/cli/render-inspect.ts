// Turns an InspectReport into the few screens a person reads. JSON output is the report itself;
// this file is only the human view.
import type { WimImageInfo } from '../formats/wim/xml-info.js';
import type { DiskReport, InspectReport, IsoReport, WimReport } from '../inspect/inspect.js';
import type { Colors } from './context.js';

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

function rows(pairs: [string, unknown][], indent = '  '): string[] {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${indent}${`${k}:`.padEnd(width + 1)} ${String(v)}`);
}

function imageLines(image: WimImageInfo, c: Colors): string[] {
  const w = image.windows;
  const version = w?.version ? `${w.version.major ?? '?'}.${w.version.minor ?? '?'}.${w.version.build ?? '?'}${w.version.spBuild ? `.${w.version.spBuild}` : ''}` : undefined;
  return [
    `  ${c.bold(`[${image.index}]`)} ${image.name ?? '(no name)'}`,
    ...rows(
      [
        ['description', image.description !== image.name ? image.description : undefined],
        ['display name', image.displayName !== image.name ? image.displayName : undefined],
        ['edition', w?.editionId ?? image.flags],
        ['product', w?.productName],
        ['architecture', w?.archName ?? w?.arch],
        ['version', version],
        ['installation', w?.installationType],
        ['languages', w?.languages.length ? `${w.languages.join(', ')}${w.defaultLanguage ? ` (default ${w.defaultLanguage})` : ''}` : undefined],
        ['directories', image.dirCount],
        ['files', image.fileCount],
        ['total bytes', image.totalBytes !== null ? formatSize(image.totalBytes) : undefined],
        ['created', image.creationTime],
        ['modified', image.lastModificationTime],
      ],
      '      ',
    ),
  ];
}

function wimLines(wim: WimReport, c: Colors): string[] {
  const lines = rows([
    ['kind', wim.kind],
    ['version', wim.version],
    ['compression', `${wim.compression}${wim.compression !== 'none' ? `, ${wim.chunkSize}-byte chunks` : ''}${wim.solid ? ', solid' : ''}`],
    ['part', `${wim.part.number}/${wim.part.total}`],
    ['boot index', wim.bootIndex || 'none'],
    ['integrity table', wim.integrityTable ? 'yes' : 'no'],
    ['GUID', wim.guid],
    ['images', wim.imageCount],
  ]);
  if (wim.ppkg) {
    const p = wim.ppkg;
    lines.push(
      `  ${c.bold('provisioning package')}`,
      ...rows(
        [
          ['name', p.name],
          ['package ID', p.packageId],
          ['version', p.version],
          ['owner', p.owner],
          ['rank', p.rank],
          ['signed', p.signed],
          ['encrypted', p.encrypted],
          ['target SKUs', p.targetSkus.join(', ')],
          ['designer version', p.designerVersion],
        ],
        '      ',
      ),
    );
  }
  for (const image of wim.images) lines.push(...imageLines(image, c));
  return lines;
}

function isoLines(iso: IsoReport, c: Colors): string[] {
  const t = iso.trees as { udf?: { revision: string }; iso9660?: { level: number }; joliet: boolean; rockRidge: boolean };
  const trees = [t.udf ? `UDF ${t.udf.revision}` : '', t.iso9660 ? `ISO 9660 level ${t.iso9660.level}` : '', t.joliet ? 'Joliet' : '', t.rockRidge ? 'Rock Ridge' : '']
    .filter(Boolean)
    .join(' + ');
  const lines = rows([
    ['label', iso.volumeLabel],
    ['file systems', trees],
    ['files', `${iso.fileCount} in ${iso.directoryCount} folders`],
  ]);
  lines.push(`  ${c.bold('El Torito boot entries')}${iso.bootEntries.length ? '' : ': none'}`);
  for (const entry of iso.bootEntries as {
    platformName: string;
    platform: number;
    emulation: string;
    loadSegment: number;
    sectorCount: number;
    bootImagePath?: string;
    bootable: boolean;
  }[]) {
    lines.push(
      `      ${entry.platformName} (0x${entry.platform.toString(16).padStart(2, '0')})  ${entry.emulation} emulation, load segment ${entry.loadSegment === 0 && entry.platform === 0 ? '0x7c0 (stored as 0)' : `0x${entry.loadSegment.toString(16)}`}, ${entry.sectorCount} sectors${entry.bootable ? '' : ', not bootable'}  ${entry.bootImagePath ?? ''}`,
    );
  }
  for (const [title, image] of [
    ['install image', iso.installImage],
    ['boot image', iso.bootImage],
  ] as const) {
    if (!image) continue;
    if ('error' in image) {
      lines.push(`  ${c.bold(title)} ${image.path}: ${c.red(`unreadable: ${image.error}`)}`);
      continue;
    }
    lines.push(`  ${c.bold(title)} ${image.path}, ${formatSize(image.size)}`);
    lines.push(...wimLines(image.wim, c).map((l) => `  ${l}`));
  }
  return lines;
}

function diskLines(disk: DiskReport, c: Colors): string[] {
  const lines = rows([
    ['type', `${disk.format.toUpperCase()} ${disk.diskType}`],
    ['virtual size', formatSize(disk.virtualSize)],
    ['block size', disk.blockSize !== undefined ? formatSize(disk.blockSize) : undefined],
    ['sector size', `${disk.logicalSectorSize}${disk.physicalSectorSize ? ` logical, ${disk.physicalSectorSize} physical` : ''}`],
    ['creator', disk.creator],
    ['UUID', disk.uuid],
    ['checksums', disk.checksumValid ? 'valid' : c.red('some invalid')],
    ['log', disk.needsLogReplay ? c.yellow('needs replay before its data can be read') : undefined],
  ]);
  const parent = disk.parent as { uuid?: string; name?: string; locators: { platform?: string; key?: string; path?: string }[] } | undefined;
  if (parent) {
    lines.push(
      `  ${c.bold('parent')}`,
      ...rows(
        [
          ['UUID', parent.uuid],
          ['name', parent.name],
        ],
        '      ',
      ),
    );
    for (const l of parent.locators) if (l.path) lines.push(`      ${l.platform ?? l.key}: ${l.path}`);
  }
  if (disk.partitionTable) {
    const pt = disk.partitionTable;
    lines.push(`  ${c.bold('partitions')}: ${pt.scheme === 'none' ? 'no partition table' : pt.scheme.toUpperCase()}${pt.diskGuid ? ` ${pt.diskGuid}` : ''}`);
    for (const p of pt.partitions) {
      lines.push(
        `      ${String(p.index).padStart(2)}  ${p.typeName} (${p.typeId})  start ${p.start}  ${formatSize(p.size)}${p.name ? `  "${p.name}"` : ''}${p.bootable ? '  active' : ''}`,
      );
    }
  } else if (disk.partitionTableError) {
    lines.push(`  partitions: ${c.yellow(`not readable: ${disk.partitionTableError}`)}`);
  }
  return lines;
}

export function renderInspect(report: InspectReport, c: Colors): string {
  const head = `${c.bold(report.path)}: ${report.format.toUpperCase()}, ${formatSize(report.size)}`;
  let body: string[];
  switch (report.format) {
    case 'iso':
      body = isoLines(report.iso, c);
      break;
    case 'wim':
    case 'esd':
    case 'swm':
    case 'ppkg':
      body = wimLines(report.wim, c);
      break;
    case 'hive': {
      const h = report.hive;
      body = rows([
        ['version', h.version],
        ['root key', h.rootName],
        [
          'state',
          h.dirty ? c.yellow(`dirty (sequence ${h.seq1} ≠ ${h.seq2}${h.checksumValid ? '' : ', bad checksum'}): replay its .LOG1/.LOG2 first`) : `clean (sequence ${h.seq1})`,
        ],
        ['checksum', h.checksumValid ? 'valid' : c.red('invalid')],
        ['last written', h.lastWritten],
        ['keys', h.keyCount],
        ['values', h.valueCount],
        ['file name', h.fileName],
      ]);
      break;
    }
    case 'hive-log': {
      const l = report.log;
      body = rows([
        ['log format', l.format === 'new' ? 'new (HvLE entries, Windows 8.1+)' : 'old (DIRT bitmap)'],
        ['file type', l.fileType],
        ['sequence', `${l.seq1}/${l.seq2}${l.headerConsistent ? '' : ' (inconsistent)'}`],
        ['entries', l.entryCount],
        ['entry sequences', l.firstSequence !== undefined ? `${l.firstSequence}..${l.lastSequence}` : undefined],
        ['dirty pages', l.dirtyPageCount],
        ['complete', l.complete],
        ['scan stopped', l.stoppedBecause],
      ]);
      break;
    }
    case 'vhd':
    case 'vhdx':
      body = diskLines(report.disk, c);
      break;
    case 'cab':
    case 'msu': {
      const cab = report.format === 'cab' ? report.cab : report.msu.cabinet;
      body = rows([
        ['folders', cab.folders.map((f) => f.compression.name).join(', ')],
        ['files', cab.files.length],
      ]);
      if (report.format === 'cab') {
        for (const f of cab.files) body.push(`      ${String(f.size).padStart(12)}  ${f.modified ?? ''}  ${f.name}`);
      } else {
        for (const e of report.msu.entries) {
          body.push(`      ${String(e.size).padStart(12)}  ${e.name}${e.note ? `  (${e.note})` : ''}`);
          for (const inner of e.cabinet?.files ?? []) body.push(`          ${String(inner.size).padStart(12)}  ${inner.name}`);
        }
      }
      break;
    }
    case 'unattend': {
      const u = report.unattend;
      body = rows([['encoding', `${u.encoding}${u.byteOrderMark ? ' with byte-order mark' : ''}`]]);
      for (const p of u.passes) body.push(`  ${c.bold(p.pass)}: ${p.components.join(', ') || '(no components)'}`);
      for (const w of u.warnings) body.push(`  ${c.yellow('warning:')} ${w}`);
      break;
    }
    case 'reg': {
      const r = report.reg;
      body = rows([
        ['header', r.version],
        ['encoding', `${r.encoding}${r.byteOrderMark ? ' with byte-order mark' : ''}`],
        ['keys', `${r.keys} set, ${r.keyDeletions} deleted`],
        ['values', `${r.values} set, ${r.valueDeletions} deleted`],
        ['root keys', r.roots.join(', ')],
      ]);
      break;
    }
    default:
      body = [];
  }
  return [head, ...body].join('\n');
}
