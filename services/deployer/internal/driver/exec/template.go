package execdriver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// Vars are the variables of the command templates. Which of them a command
// may use depends on its operation; see the package documentation.
type Vars struct {
	// App is the target's application.
	App string
	// Environment is the target's environment.
	Environment string
	// Version is the version operated on (not in State).
	Version string
	// Artifact is the release version it runs, driver.Artifact(Version):
	// Version without the "config.<N>" build metadata of a configuration-only
	// rollout (not in State). Use it for what to run (an image tag), Version
	// for naming instances.
	Artifact string
	// ReleaseID is the version's release id: Start's Version.ReleaseID, or
	// the one it was started with, if this driver started it (not in State).
	ReleaseID string
	// Config is the version's configuration: Start's Version.Config, or the
	// one it was started with, if this driver started it (not in State).
	Config map[string]string
	// Weight is the version's percent of the traffic (SetWeights only).
	Weight int
	// Weights is the whole split, "1.1.0=20,1.2.0=80", sorted by version
	// (SetWeights only).
	Weights string
	// Split is the whole split, sorted by version (SetWeights only).
	Split []Share
}

// Share is one version's part of a split.
type Share struct {
	// Version is the version.
	Version string
	// Weight is its percent of the traffic.
	Weight int
}

// The operations, named as their Config fields.
const (
	opStart      = "Start"
	opSetWeights = "SetWeights"
	opCheck      = "Check"
	opStop       = "Stop"
	opState      = "State"
)

// opVars lists the variables each operation's templates may use.
var opVars = map[string][]string{
	opStart:      {"App", "Environment", "Version", "Artifact", "ReleaseID", "Config"},
	opSetWeights: {"App", "Environment", "Version", "Artifact", "ReleaseID", "Config", "Weight", "Weights", "Split"},
	opCheck:      {"App", "Environment", "Version", "Artifact", "ReleaseID", "Config"},
	opStop:       {"App", "Environment", "Version", "Artifact", "ReleaseID", "Config"},
	opState:      {"App", "Environment"},
}

// parseCommand parses the templates of one operation's command, calling bad
// for every problem.
func parseCommand(op string, args []string, bad func(format string, args ...any)) []*template.Template {
	tmpls := make([]*template.Template, 0, len(args))
	allowed := opVars[op]
	for i, arg := range args {
		name := fmt.Sprintf("%s[%d]", op, i)
		tm, err := template.New(name).Option("missingkey=error").Parse(arg)
		if err != nil {
			bad("%s %q: %v", name, arg, err)
			continue
		}
		var unknown []string
		walkFields(tm.Root, true, func(field string) {
			if !slices.Contains(allowed, field) && !slices.Contains(unknown, field) {
				unknown = append(unknown, field)
			}
		})
		for _, f := range unknown {
			bad("%s %q: {{.%s}} is not a variable of %s; it has %s", name, arg, f, op, "."+strings.Join(allowed, ", ."))
		}
		tmpls = append(tmpls, tm)
	}
	return tmpls
}

// walkFields calls use with the name of every variable (field of Vars) the
// template node refers to: {{.X...}} where dot is the root, and {{$.X...}}
// anywhere. Inside range and with, dot is something else; there only $.X
// counts. Templates called with {{template}} are not followed.
func walkFields(n parse.Node, dotIsRoot bool, use func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkFields(c, dotIsRoot, use)
		}
	case *parse.ActionNode:
		walkPipe(n.Pipe, dotIsRoot, use)
	case *parse.IfNode:
		walkPipe(n.Pipe, dotIsRoot, use)
		walkFields(n.List, dotIsRoot, use)
		walkFields(n.ElseList, dotIsRoot, use)
	case *parse.RangeNode:
		walkPipe(n.Pipe, dotIsRoot, use)
		walkFields(n.List, false, use)
		walkFields(n.ElseList, dotIsRoot, use)
	case *parse.WithNode:
		walkPipe(n.Pipe, dotIsRoot, use)
		walkFields(n.List, false, use)
		walkFields(n.ElseList, dotIsRoot, use)
	case *parse.TemplateNode:
		walkPipe(n.Pipe, dotIsRoot, use)
	}
}

func walkPipe(p *parse.PipeNode, dotIsRoot bool, use func(string)) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, arg := range c.Args {
			walkArg(arg, dotIsRoot, use)
		}
	}
}

func walkArg(n parse.Node, dotIsRoot bool, use func(string)) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if dotIsRoot {
			use(n.Ident[0])
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			use(n.Ident[1])
		}
	case *parse.ChainNode:
		walkArg(n.Node, dotIsRoot, use)
	case *parse.PipeNode:
		walkPipe(n, dotIsRoot, use)
	}
}

// render executes the templates of a command.
func render(tmpls []*template.Template, vars Vars) ([]string, error) {
	argv := make([]string, len(tmpls))
	for i, tm := range tmpls {
		var b strings.Builder
		if err := tm.Execute(&b, vars); err != nil {
			return nil, fmt.Errorf("render %s: %w", tm.Name(), err)
		}
		argv[i] = b.String()
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command to render")
	}
	if argv[0] == "" {
		return nil, fmt.Errorf("render %s: the program's name is empty", tmpls[0].Name())
	}
	return argv, nil
}

// formatWeights renders a split as "1.1.0=20,1.2.0=80".
func formatWeights(split []Share) string {
	parts := make([]string, len(split))
	for i, s := range split {
		parts[i] = s.Version + "=" + strconv.Itoa(s.Weight)
	}
	return strings.Join(parts, ",")
}

// quoteArgs renders argv for messages, quoting like a POSIX shell the
// arguments that need it.
func quoteArgs(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = shellQuote(a)
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
