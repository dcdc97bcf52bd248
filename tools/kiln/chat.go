package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/kiln-ml/kiln"
	"github.com/kiln-ml/kiln/models/chat"
)

// stdin is chat's input; tests replace it.
var stdin io.Reader = os.Stdin

func cmdChat(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", stderr)
	var mf modelFlags
	mf.register(fs)
	var sf samplerFlags
	sf.register(fs)
	system := fs.String("s", "", "system message")
	fs.StringVar(system, "system", "", "same as -s")
	n := fs.Int("n", 512, "most tokens in one reply (0: until the context is full)")
	tmplName := fs.String("chat-template", "", templateFlagUsage)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *n < 0 {
		return fmt.Errorf("%w: -n %d must not be negative", errUsage, *n)
	}
	smp, err := sf.options()
	if err != nil {
		return err
	}
	if err := mf.check(); err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	tmpl, stops, err := chatTemplate(m, *tmplName)
	if err != nil {
		return err
	}
	sess, err := m.NewSession()
	if err != nil {
		return err
	}
	c := &chatLoop{m: m, sess: sess, tmpl: tmpl, opt: kiln.GenerateOptions{MaxTokens: *n, Sampler: smp, Stop: stops}, system: *system}
	c.reset()
	interactive := isTerminal(stdout) && isTerminalReader(stdin)
	if interactive {
		fmt.Fprintf(stderr, "kiln chat: %s, context %d tokens. /reset clears the history, /exit or Ctrl-D ends, Ctrl-C stops a reply.\n", m.Info().Name, m.Ctx)
	}
	in := bufio.NewReader(stdin)
	for {
		if interactive {
			fmt.Fprint(stdout, "> ")
		}
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		eof := err != nil
		line = strings.TrimRight(line, "\r\n")
		switch strings.TrimSpace(line) {
		case "":
		case "/exit", "/quit":
			return nil
		case "/reset":
			c.reset()
		default:
			if err := c.turn(line, stdout, stderr); err != nil {
				return err
			}
		}
		if eof {
			return nil
		}
	}
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// chatLoop holds a conversation: its messages and the session whose cache
// holds them, so each turn evaluates only the new text.
type chatLoop struct {
	m      *kiln.Model
	sess   *kiln.Session
	tmpl   *chat.Template
	opt    kiln.GenerateOptions
	system string
	msgs   []chat.Message
}

func (c *chatLoop) reset() {
	c.msgs = c.msgs[:0]
	if c.system != "" {
		c.msgs = append(c.msgs, chat.Message{Role: "system", Content: c.system})
	}
}

// prompt renders the conversation, dropping the oldest turns while it
// leaves less than a quarter of the context (or -n tokens) for the reply.
// History is only dropped when the result fits.
func (c *chatLoop) prompt() (string, error) {
	room := c.m.Ctx / 4
	if c.opt.MaxTokens > 0 {
		room = min(room, c.opt.MaxTokens)
	}
	msgs := c.msgs
	first := 0
	if len(msgs) > 0 && msgs[0].Role == "system" {
		first = 1
	}
	for {
		p, err := c.tmpl.Render(msgs, true)
		if err != nil {
			return "", err
		}
		ids, err := c.m.Tokenize(p)
		if err != nil {
			return "", err
		}
		if len(ids)+room <= c.m.Ctx {
			c.msgs = msgs
			return p, nil
		}
		if len(msgs)-first <= 1 {
			return "", fmt.Errorf("%w: the message takes %d tokens with the template; the context holds %d and %d are kept for the reply",
				kiln.ErrPromptTooLong, len(ids), c.m.Ctx, room)
		}
		// Drop the oldest exchange: a user message and the reply after it.
		drop := 1
		if len(msgs)-first > 2 && msgs[first+1].Role == "assistant" {
			drop = 2
		}
		msgs = append(msgs[:first:first], msgs[first+drop:]...)
	}
}

// turn adds the user's line, streams the reply and records it. A reply
// stopped by Ctrl-C is kept as far as it got; a message too long for the
// context is reported and dropped, and the chat goes on.
func (c *chatLoop) turn(line string, stdout, stderr io.Writer) error {
	c.msgs = append(c.msgs, chat.Message{Role: "user", Content: line})
	p, err := c.prompt()
	if err != nil {
		c.msgs = c.msgs[:len(c.msgs)-1]
		fmt.Fprintf(stderr, "kiln chat: %v\n", err)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var reply strings.Builder
	for piece, err := range c.sess.GenerateText(ctx, p, c.opt) {
		if errors.Is(err, context.Canceled) {
			fmt.Fprint(stderr, "\n[stopped]")
			break
		}
		if err != nil {
			return err
		}
		reply.WriteString(piece)
		if _, err := io.WriteString(stdout, piece); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout)
	c.msgs = append(c.msgs, chat.Message{Role: "assistant", Content: reply.String()})
	return nil
}
