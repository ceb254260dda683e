import { describe, expect, it } from 'vitest';
import { render } from '../../src/cli/template.js';

const web = {
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 42 },
  Config: { Env: ['A=1', 'B=2'], Labels: {} },
  NetworkSettings: {
    Networks: { bridge: { IPAddress: '10.0.0.2' }, back: { IPAddress: '10.9.0.3' } },
    Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null },
  },
};

describe('Go templates, as Docker users type them', () => {
  it.each([
    ['{{.Name}} {{.State.Status}}', '/web running'],
    ['{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', '10.9.0.3 10.0.0.2 '],
    ['{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}};{{end}}', 'back=10.9.0.3;bridge=10.0.0.2;'],
    ['{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}', '0:A=1 1:B=2 '],
    ['{{if .State.Running}}up{{else}}down{{end}}', 'up'],
    ['{{if eq .State.Status "exited"}}x{{else if eq .State.Status "running"}}r{{else}}?{{end}}', 'r'],
    ['{{with .State}}{{.Pid}}{{end}}', '42'],
    ['{{with .Config.Labels}}labels{{else}}none{{end}}', 'none'],
    ['{{range .Config.Labels}}x{{else}}empty{{end}}', 'empty'],
    ['{{json .State}}', '{"Status":"running","Running":true,"Pid":42}'],
    ['{{index .NetworkSettings.Ports "80/tcp" 0 "HostPort"}}', '8080'],
    ['{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', '8080'],
    ['{{len .Config.Env}} {{len .Name}}', '2 4'],
    ['{{printf "%s has pid %d" .Name .State.Pid}}', '/web has pid 42'],
    ['{{.Name | upper}} {{lower "ABC"}} {{title "hello world"}}', '/WEB abc Hello World'],
    ['{{join .Config.Env ","}} {{index (split "a:b" ":") 1}}', 'A=1,B=2 b'],
    ['{{truncate .Name 3}}|{{pad "x" 1 2}}|', '/we| x  |'],
    ['{{$s := .State.Status}}{{$s}}-{{$.Name}}', 'running-/web'],
    ['{{.Config.Env}} {{.NetworkSettings.Ports}}', '[A=1 B=2] map[443/tcp:<nil> 80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]'],
    ['a {{- " b " -}} c', 'a b c'],
    ['{{/* a comment */}}{{not .State.Running}} {{and 1 0}} {{or 0 "y"}}', 'false 0 y'],
    ['{{.Name}}\\t{{.State.Pid}}', '/web\t42'],
  ])('%s', (template, expected) => {
    expect(render(template, web)).toBe(expected);
  });

  it.each([
    ['{{.Nope}}', "template: .Nope: can't evaluate field Nope"],
    ['{{.State.Nope.Deeper}}', "template: .State.Nope.Deeper: can't evaluate field Nope"],
    ['{{nosuch .Name}}', 'template: function "nosuch" not defined'],
    ['{{if .Name}}unclosed', 'template: unexpected EOF: missing {{end}}'],
    ['{{end}}', 'template: unexpected {{end}}'],
    ['{{.Name', 'template: unclosed action'],
    ['{{$undefined}}', 'template: undefined variable: $undefined'],
  ])('%s is an error with exit 1, never printed back', (template, message) => {
    expect(() => render(template, web)).toThrow(message);
    try {
      render(template, web);
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(1);
    }
  });
});
