package core

import _ "embed" // the Docs of each type, in docs/<type>.md

// The Docs of each node type (node.Info.Docs), Markdown kept beside the code in docs/.
var (
	//go:embed docs/data.set.md
	docsSet string
	//go:embed docs/data.transform.md
	docsTransform string
	//go:embed docs/data.filter.md
	docsFilter string
	//go:embed docs/flow.if.md
	docsIf string
	//go:embed docs/flow.switch.md
	docsSwitch string
	//go:embed docs/flow.merge.md
	docsMerge string
	//go:embed docs/flow.delay.md
	docsDelay string
	//go:embed docs/flow.fail.md
	docsFail string
	//go:embed docs/trigger.manual.md
	docsManual string
	//go:embed docs/trigger.webhook.md
	docsWebhook string
	//go:embed docs/trigger.schedule.md
	docsSchedule string
)
