#!/usr/bin/env python3
"""Check a reachcheck SARIF report: schema validation against the vendored
OASIS SARIF 2.1.0 schema (sarif-schema-2.1.0.json, JSON Schema draft-04),
then reachcheck's own expectations.

Validation uses the jsonschema module (Debian: python3-jsonschema) when it is
installed (and RC_SARIF_BUILTIN_VALIDATOR is not set), else the small
draft-04 validator below, which implements every
keyword the SARIF schema uses except "format" (URIs are checked separately).

Expectations (see run_api.py):
  --sarif-results N                 exactly N results
  --sarif-result RULE:URI_SUFFIX:LINE[:suppressed]
        a result of rule RULE located at a file whose URI ends with
        URI_SUFFIX, on line LINE; LINE may be @TAG: the line of --sarif-source
        that contains the comment "SARIF:TAG"
  --sarif-source FILE

`check_sarif.py --self-test` checks that the built-in validator accepts a
valid log and rejects broken ones.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, 'sarif-schema-2.1.0.json')
URI_REF = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def add_arguments(ap):
    ap.add_argument('--sarif-results', type=int)
    ap.add_argument('--sarif-result', action='append', default=[])
    ap.add_argument('--sarif-source')


# ---- a draft-04 validator for the keywords of the SARIF schema ----
TYPES = {
    'object': lambda v: isinstance(v, dict),
    'array': lambda v: isinstance(v, list),
    'string': lambda v: isinstance(v, str),
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    'boolean': lambda v: isinstance(v, bool),
    'null': lambda v: v is None,
}


def _resolve(root, ref):
    if not ref.startswith('#'):
        raise ValueError('external $ref %r' % ref)
    node = root
    for part in ref[1:].split('/')[1:]:
        node = node[part.replace('~1', '/').replace('~0', '~')]
    return node


def mini_validate(root, schema, value, path, errors):
    if '$ref' in schema:
        mini_validate(root, _resolve(root, schema['$ref']), value, path, errors)
        return
    t = schema.get('type')
    if t is not None:
        ts = t if isinstance(t, list) else [t]
        if not any(TYPES[x](value) for x in ts):
            errors.append('%s: %r is not of type %s' % (path, value, t))
            return
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s: %r not in %r' % (path, value, schema['enum']))
    if TYPES['number'](value):
        if 'minimum' in schema and value < schema['minimum']:
            errors.append('%s: %r < minimum %r' % (path, value, schema['minimum']))
        if 'maximum' in schema and value > schema['maximum']:
            errors.append('%s: %r > maximum %r' % (path, value, schema['maximum']))
    if isinstance(value, str):
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            errors.append('%s: %r does not match %r' % (path, value, schema['pattern']))
        if 'minLength' in schema and len(value) < schema['minLength']:
            errors.append('%s: shorter than %d' % (path, schema['minLength']))
    if isinstance(value, list):
        if 'minItems' in schema and len(value) < schema['minItems']:
            errors.append('%s: fewer than %d items' % (path, schema['minItems']))
        if 'maxItems' in schema and len(value) > schema['maxItems']:
            errors.append('%s: more than %d items' % (path, schema['maxItems']))
        if schema.get('uniqueItems'):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(seen) != len(set(seen)):
                errors.append('%s: items are not unique' % path)
        items = schema.get('items')
        if isinstance(items, dict):
            for i, v in enumerate(value):
                mini_validate(root, items, v, '%s[%d]' % (path, i), errors)
    if isinstance(value, dict):
        for k in schema.get('required', []):
            if k not in value:
                errors.append('%s: missing required %r' % (path, k))
        props = schema.get('properties', {})
        pats = schema.get('patternProperties', {})
        for k, v in value.items():
            matched = False
            if k in props:
                matched = True
                mini_validate(root, props[k], v, '%s.%s' % (path, k), errors)
            for rx, sub in pats.items():
                if re.search(rx, k):
                    matched = True
                    mini_validate(root, sub, v, '%s.%s' % (path, k), errors)
            if not matched:
                extra = schema.get('additionalProperties', True)
                if extra is False:
                    errors.append('%s: unexpected property %r' % (path, k))
                elif isinstance(extra, dict):
                    mini_validate(root, extra, v, '%s.%s' % (path, k), errors)
        if 'minProperties' in schema and len(value) < schema['minProperties']:
            errors.append('%s: fewer than %d properties' % (path, schema['minProperties']))
        for dep, need in schema.get('dependencies', {}).items():
            if dep in value and isinstance(need, list):
                for n in need:
                    if n not in value:
                        errors.append('%s: %r requires %r' % (path, dep, n))
    for sub in schema.get('allOf', []):
        mini_validate(root, sub, value, path, errors)
    if 'anyOf' in schema:
        if not any(not _errs(root, sub, value, path) for sub in schema['anyOf']):
            errors.append('%s: matches none of anyOf' % path)
    if 'oneOf' in schema:
        n = sum(1 for sub in schema['oneOf'] if not _errs(root, sub, value, path))
        if n != 1:
            errors.append('%s: matches %d of oneOf' % (path, n))
    if 'not' in schema and not _errs(root, schema['not'], value, path):
        errors.append('%s: matches "not"' % path)


def _errs(root, schema, value, path):
    e = []
    mini_validate(root, schema, value, path, e)
    return e


def validate(doc):
    """Schema errors of doc (a list of strings) and the validator's name."""
    with open(SCHEMA) as f:
        schema = json.load(f)
    try:
        if os.environ.get('RC_SARIF_BUILTIN_VALIDATOR'):
            raise ImportError('the built-in validator was asked for')
        import jsonschema
    except ImportError:
        return _errs(schema, schema, doc, '$'), 'built-in draft-04 validator'
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errs = ['%s: %s' % ('/'.join(map(str, e.absolute_path)), e.message) for e in v.iter_errors(doc)]
    return errs, 'the jsonschema module'


def walk_uris(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'uri' and isinstance(v, str):
                out.append(v)
            walk_uris(v, out)
    elif isinstance(node, list):
        for v in node:
            walk_uris(v, out)


def tag_line(source, tag):
    with open(source) as f:
        for i, line in enumerate(f, 1):
            if 'SARIF:%s' % tag in line.split():
                return i
    raise SystemExit('no line tagged SARIF:%s in %s' % (tag, source))


def check(path, a):
    fails = []
    with open(path) as f:
        doc = json.load(f)
    errs, how = validate(doc)
    print('SARIF %s validated with %s: %d schema error(s)' % (path, how, len(errs)))
    fails += ['schema: ' + e for e in errs[:20]]
    uris = []
    walk_uris(doc, uris)
    fails += ['not a URI reference: %r' % u for u in uris if not URI_REF.match(u)]
    run = doc['runs'][0]
    rules = run['tool']['driver']['rules']
    # growing-memory comes only with --watch (docs/over-time.md)
    ids = [r['id'] for r in rules]
    if ids not in (['direct-leak', 'indirect-leak'], ['direct-leak', 'indirect-leak', 'growing-memory']):
        fails.append('rules are %r' % ids)
    if [r['defaultConfiguration']['level'] for r in rules] != ['error', 'warning', 'warning'][:len(rules)]:
        fails.append('rule levels are wrong')
    results = run['results']
    for i, r in enumerate(results):
        if rules[r['ruleIndex']]['id'] != r['ruleId']:
            fails.append('result %d: ruleIndex %d does not name %s' % (i, r['ruleIndex'], r['ruleId']))
        frames = r.get('stacks', [{}])[0].get('frames', [])
        if not frames:
            fails.append('result %d has no allocation stack' % i)
    if a.sarif_results is not None and len(results) != a.sarif_results:
        fails.append('%d results, want %d' % (len(results), a.sarif_results))
    base = run.get('originalUriBaseIds', {}).get('SRCROOT', {}).get('uri', '')
    for want in a.sarif_result:
        parts = want.split(':')
        rule, suffix, line = parts[0], parts[1], parts[2]
        suppressed = len(parts) > 3 and parts[3] == 'suppressed'
        line = tag_line(a.sarif_source, line[1:]) if line.startswith('@') else int(line)
        found = False
        for r in results:
            loc = r['locations'][0]['physicalLocation'] if r.get('locations') else {}
            art = loc.get('artifactLocation', {})
            uri = art.get('uri', '')
            if art.get('uriBaseId') == 'SRCROOT':
                uri = base + uri
            if (r['ruleId'] == rule and uri.endswith(suffix) and loc.get('region', {}).get('startLine') == line
                    and bool(r.get('suppressions')) == suppressed):
                found = True
        if not found:
            fails.append('no %s result at %s:%d%s' % (rule, suffix, line, ' (suppressed)' if suppressed else ''))
    return fails


def self_test():
    """The built-in validator accepts a valid log and rejects broken ones."""
    with open(SCHEMA) as f:
        schema = json.load(f)
    good = {
        'version': '2.1.0',
        'runs': [{'tool': {'driver': {'name': 'reachcheck', 'rules': [{'id': 'direct-leak'}]}},
                  'results': [{'ruleId': 'direct-leak', 'ruleIndex': 0, 'level': 'error', 'message': {'text': 'x'},
                               'locations': [{'physicalLocation': {'artifactLocation': {'uri': 'a.c'},
                                                                   'region': {'startLine': 3}}}]}]}],
    }
    fails = []
    if _errs(schema, schema, good, '$'):
        fails.append('valid log rejected: %s' % _errs(schema, schema, good, '$'))
    bad = []
    b = json.loads(json.dumps(good)); del b['version']; bad.append(('no version', b))
    b = json.loads(json.dumps(good)); b['runs'][0]['bogus'] = 1; bad.append(('unknown property', b))
    b = json.loads(json.dumps(good)); b['runs'][0]['results'][0]['level'] = 'fatal'; bad.append(('bad level', b))
    b = json.loads(json.dumps(good))
    b['runs'][0]['results'][0]['locations'][0]['physicalLocation']['region']['startLine'] = 0
    bad.append(('startLine 0', b))
    b = json.loads(json.dumps(good)); del b['runs'][0]['results'][0]['message']; bad.append(('no message', b))
    b = json.loads(json.dumps(good)); b['runs'][0]['results'][0]['locations'][0]['physicalLocation'] = {}
    bad.append(('empty physicalLocation', b))
    for name, doc in bad:
        if not _errs(schema, schema, doc, '$'):
            fails.append('broken log accepted: ' + name)
    return fails


if __name__ == '__main__':
    import argparse
    if sys.argv[1:] == ['--self-test']:
        problems = self_test()
        for p in problems:
            print('FAIL: ' + p)
        print('PASS' if not problems else '')
        sys.exit(1 if problems else 0)
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    ap.add_argument('file')
    args = ap.parse_args()
    problems = check(args.file, args)
    for p in problems:
        print('FAIL: ' + p)
    sys.exit(1 if problems else 0)
