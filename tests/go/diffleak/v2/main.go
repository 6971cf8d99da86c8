// diffleak2: the same leaky package as diffleak, built into a different program (more code,
// more packages), so its go statements land at other addresses. Same flags and output.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"text/template"

	"gorepro/internal/gosite"
	"gorepro/tests/go/diffleak/leaky"
)

// banner exercises packages diffleak does not link, so the layout of the binary differs.
func banner() string {
	u, err := url.Parse("https://example.invalid/diffleak?v=2")
	if err != nil {
		return ""
	}
	var b strings.Builder
	t := template.Must(template.New("b").Parse("{{.Host}} {{.RawQuery}}"))
	if err := t.Execute(&b, u); err != nil {
		return ""
	}
	return b.String()
}

func main() {
	fixed := flag.Bool("fixed", false, "give every fetch room for its answer: nothing leaks")
	flag.Parse()
	_ = banner()
	leaked := leaky.Run(*fixed)
	gosite.Settle(leaked)
	fmt.Printf("diffleak: leaked %d\n", leaked)
}
