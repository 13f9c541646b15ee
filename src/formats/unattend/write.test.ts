import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../errors.js';
import { element, listItem, type UnattendDocument, WCM_NAMESPACE } from './model.js';
import { parseUnattend } from './parse.js';
import { writeUnattend } from './write.js';

const doc: UnattendDocument = {
  prolog: [],
  attributes: [],
  children: [
    {
      kind: 'settings',
      pass: 'oobeSystem',
      attributes: [],
      children: [
        {
          kind: 'component',
          name: 'Microsoft-Windows-Shell-Setup',
          processorArchitecture: 'amd64',
          publicKeyToken: '31bf3856ad364e35',
          language: 'neutral',
          versionScope: 'nonSxS',
          attributes: [],
          children: [element('FirstLogonCommands', [listItem('SynchronousCommand', [element('CommandLine', 'cmd /c "echo a & echo b" > C:\\x.txt'), element('Order', '1')], '1')])],
        },
      ],
    },
  ],
};

describe('writeUnattend', () => {
  test('writes UTF-8 without a byte-order mark, the XML declaration and both namespaces on the root', () => {
    const text = Buffer.from(writeUnattend(doc)).toString('utf8');
    assert.ok(
      text.startsWith(
        '<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">',
      ),
    );
    assert.notEqual(writeUnattend(doc)[0], 0xef);
    assert.match(text, /<SynchronousCommand wcm:action="add" wcm:keyValue="1">/);
    assert.match(text, /<CommandLine>cmd \/c "echo a &amp; echo b" &gt; C:\\x.txt<\/CommandLine>/);
    assert.match(text, /<component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">/);
  });

  test('gives the same bytes for the same model and reads back to it', () => {
    assert.deepEqual(writeUnattend(doc), writeUnattend(structuredClone(doc)));
    assert.deepEqual(parseUnattend(writeUnattend(doc)), doc);
  });

  test('declares other namespaces once on the root and renames a clashing prefix', () => {
    const withForeign: UnattendDocument = {
      prolog: [{ kind: 'comment', text: ' made by a test ' }],
      attributes: [],
      children: [
        {
          kind: 'element',
          localName: 'a',
          namespace: 'urn:one',
          prefix: 'p',
          attributes: [{ localName: 'x', namespace: 'urn:two', prefix: 'p', value: 'tab\there' }],
          children: [],
        },
        {
          kind: 'element',
          localName: 'b',
          namespace: 'urn:default',
          attributes: [{ localName: 'keyValue', namespace: WCM_NAMESPACE, value: 'k' }],
          children: [element('c', 'text')],
        },
        { kind: 'element', localName: 'plain', namespace: null, attributes: [], children: [] },
      ],
    };
    const bytes = writeUnattend(withForeign);
    const text = Buffer.from(bytes).toString('utf8');
    assert.match(text, /xmlns:p="urn:one" xmlns:ns1="urn:two"/);
    assert.match(text, /<b xmlns="urn:default"/);
    assert.match(text, /<plain xmlns=""\/>/);
    const back = parseUnattend(bytes);
    assert.deepEqual(back.prolog, withForeign.prolog);
    const a = back.children[0];
    assert.ok(a?.kind === 'element');
    assert.deepEqual(a.attributes, [{ localName: 'x', namespace: 'urn:two', prefix: 'ns1', value: 'tab\there' }]);
    const c = back.children[1];
    assert.ok(c?.kind === 'element' && c.keyValue === 'k');
    // <c> is in the unattend namespace (no `namespace`), so it switches the default back.
    assert.match(text, /<c xmlns="urn:schemas-microsoft-com:unattend">text<\/c>/);
    assert.deepEqual(c.children, [element('c', 'text')]);
  });

  test('refuses text XML cannot carry with an InputError', () => {
    const bad: UnattendDocument = { prolog: [], attributes: [], children: [element('x', 'bell\u0007')] };
    assert.throws(
      () => writeUnattend(bad),
      (e: unknown) => e instanceof InputError && e.code === 'DF_UNATTEND_BAD_CHAR',
    );
    const badComment: UnattendDocument = { prolog: [], attributes: [], children: [{ kind: 'comment', text: 'a -- b' }] };
    assert.throws(
      () => writeUnattend(badComment),
      (e: unknown) => e instanceof InputError && e.code === 'DF_UNATTEND_BAD_COMMENT',
    );
  });
});
