"""The signals' English patterns, one compiled expression per marker.

Kept apart from the code that applies them (``roleplay.understanding.signals.analysis``) so
the list can be read, and reviewed, on its own.
"""

from __future__ import annotations

import re


def any_of(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


SENTENCE = re.compile(r"[^.!?]+[.!?]*")
#: Words a spoken question may open with before its question word ("Um, so, you know, what…").
LEAD_IN = (
    r"^\W*(?:(?:and|so|but|just|okay|ok|um+|uh+|er|erm|mhm|like|basically|"
    r"you know|i mean|kind of|sort of|out of curiosity|if you don't mind me asking)\W+)*"
)
#: The start of a sentence, after any hesitation ("Um, so, honestly, …").
#: Hesitations and openers a sentence may start with before it says anything ("Um, so, well, …").
FILLER_WORDS = r"(?:(?:um+|uh+|er|erm|so|well|and|but|okay|ok|oh)\W+)*"
SENTENCE_START = r"(?:^|[.!?]\s+)" + FILLER_WORDS
LEAD_IN_RX = re.compile(LEAD_IN + FILLER_WORDS, re.IGNORECASE)
#: Hesitations and discourse fillers: they make a reply no longer ("Um, so, well, …, so, yeah.").
HESITATION = {"um", "umm", "uh", "uhh", "er", "erm", "hmm", "mhm", "so", "well", "yeah", "okay", "ok"}
OPEN_START = any_of(
    LEAD_IN + r"(?:what|how|why|which|who|where)\b",
    r"\btell me\b", r"\bwalk me through\b", r"\bhelp me understand\b", r"\bcurious\W+(?:what|how|why|about|whether|if)\b",
    r"\b(?:to (?:know|hear|understand|learn)|wondering)\W+(?:what|how|why|which|who|where|whether)\b",
    r"\bwhat(?:'s| is| was| were| would| made| makes| led| does| did)\b",
    r"[,:;]\s*(?:and |so |but |then |just )?(?:what|how|why|which|who|where)\b",
)
#: The rep offering something as a question ("I could maybe talk to my manager?"): not about their view.
OFFER_QUESTION = any_of(LEAD_IN + r"(?:i (?:could|can|might|will)|i'll|i'd)\b")
#: "Can I ask why / what's behind it?": asking permission to ask why (curiosity 4).
PERMISSION_WHY = any_of(
    r"\b(?:can|could|may|mind if) i ask (?:why|what(?:'s| is) behind|what made|what(?:'s| is) driving|the reason)\b",
)
#: A question put as a statement ("I'd love to know how…", "I keep wondering what…").
ASK_AS_STATEMENT = any_of(
    r"\btell me\b", r"\bwalk me through\b", r"\bhelp me understand\b",
    r"\bi(?:'d| would) (?:love|like|be (?:curious|interested|keen)) to (?:know|hear|understand|learn)\b",
    r"\bi(?:'d be| would be| am|'m)(?: (?:really|just|genuinely))? curious\b", r"\bi keep wondering\b", r"\bi(?:'m| am) wondering\b",
)
PERMISSION_TO_ASK = any_of(r"\b(?:can|could|may|mind if) i ask (?:why|what|how)\b")
CLOSED_START = any_of(
    LEAD_IN +
    r"(?:is|are|was|were|do|does|did|would|could|can|will|have|has|had|should|shall|may|might|isn't|aren't|don't|doesn't|wouldn't|won't)\b",
)
DISGUISED = any_of(
    r"wouldn't you (?:agree|want|like|say)", r"don't you (?:want|think|agree)", r"what if i (?:told|showed)",
    r"imagine (?:if|what)", r"isn't it (?:worth|time)", r"who wouldn't want", r"wouldn't it be (?:great|nice|worth)",
    r"how would you like to (?:save|cut|get|have)", r"what would (?:it|that) mean (?:to you|for you) (?:if|to)",
)
#: A day with a clock time ("Friday at two", "tomorrow at nine").
DAY_AT_TIME = (
    r"\b(?:monday|tuesday|wednesday|thursday|friday|tomorrow)\b[^.?!]{0,30}"
    r"\bat (?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)\b"
)
NUMBER = r"(?:\d+|one|two|three|four|five|ten|fifteen|twenty|thirty|forty(?:[- ]five)?|sixty)"
ASK_OBJECT = (
    r"(?:meeting|demo|call|chat|conversation|catch[- ]up|coffee|lunch|slot|appointment|trial|pilot|"
    r"walkthrough|walk-through|presentation|intro|introduction|session|time on (?:your|the) calendar|side[- ]by[- ]side|"
    rf"\d+\s*(?:min(?:ute)?s?|-minute)|{NUMBER}[- ]minute|few minutes|minutes)"
)
#: Things a rep may ask for in a question or offer ("a quick look", "a fifteen-minute Zoom", "a free two-week trial").
OFFER_OBJECT = (
    r"(?:call|chat|meeting|demo|trial|pilot|intro|introduction|zoom|teams call|video|coffee|walkthrough|"
    r"walk-through|conversation|session|catch[- ]up|slot|presentation|(?:quick|short|brief|closer|proper) look|"
    r"webinar|workshop|seat|visit|audit|assessment|health check|proposal)"
)
WHEN = r"(?:monday|tuesday|wednesday|thursday|friday|tomorrow|(?:this|next) (?:week|month|quarter))"
COMMITMENT = any_of(
    rf"\b(?:can|could|would|will|shall|should|may)\b[^.?!]*\b(?:we|you|i)\b[^.?!]*\b(?:book|schedule|set up|"
    rf"grab|get|find|put|lock in|do|have|hop on|jump on|squeeze in|make)\b[^.?!]*{ASK_OBJECT}",
    rf"\b(?:would|are) you (?:perhaps |possibly |maybe |at all |ever )?(?:be )?(?:open|up|available|free|willing)\b[^.?!]*(?:{ASK_OBJECT}|to (?:meet|talk|chat|try|see|look))",
    rf"\b(?:would|are) you (?:be )?(?:open|up for|available|free|willing)\b[^.?!]*\b{WHEN}\b[^.!]*\?",
    rf"\b(?:a|one) (?:quick |short )?{NUMBER}[- ]min(?:ute)? (?:call|conversation|chat|demo|meeting|look|walkthrough|slot)\b",
    rf"\bhow (?:about|does)\b[^.?!]*(?:monday|tuesday|wednesday|thursday|friday|tomorrow|next week|{ASK_OBJECT})",
    r"\b(?:let's|let us)\b[^.?!]*(?:meet|book|schedule|set up|grab|get|find|do|put|pencil|lock|hop|jump|talk)",
    r"\b(?:can|could|shall|should|may) (?:we|i) (?:book|schedule|pencil|lock|set up|get (?:something|a time))\b",
    r"\b(?:can|could|shall) we (?:do|try|make it|say|meet)\b[^.?!]*(?:monday|tuesday|wednesday|thursday|friday|tomorrow|next week|morning|afternoon|\d)",
    r"\bi(?:'ll| will| am going to|'m going to|'m gonna) (?:just )?(?:send|put|pop|drop) (?:you |over )?(?:an? |the )?(?:calendar )?(?:invite|invitation|hold|meeting)",
    r"\b(?:send|put) (?:you |over )?(?:an? |the )?(?:calendar )?(?:invite|invitation|hold)\b",
    rf"\bjust (?:give me|need|want|ask(?:ing)? for)\b[^.?!]*{ASK_OBJECT}",
    r"\b(?:give me|spare|need)\b[^.?!]*(?:\d+|few|five|ten|fifteen|twenty|thirty|two) (?:min(?:ute)?s?)",
    r"\b(?:sign|buy|purchase|order|commit|start) (?:up|today|now|the (?:contract|deal|order|trial))\b",
    r"\b(?:free|quick|short) (?:trial|pilot|demo)\b[^.?!]*\?",
    rf"\b(?:what|which) (?:day|time|slot|date)s?\b[^.?!]*(?:works?|suits?|good|better|best|free)\b[^.?!]*(?:{ASK_OBJECT}|this week|next week)",
    r"\b(?:monday|tuesday|wednesday|thursday|friday)\b[^.?!]*\b(?:at )?\d{1,2}(?::\d\d)?\s*(?:am|pm)?\b[^.?!]*\?",
    r"\b(?:introduce me|intro to|connect me with|put me in touch)\b",
    rf"\b(?:{NUMBER}|few|couple of) (?:more )?min(?:ute)?s?\b[^.!]*\?",
    r"^\s*(?:what about |how about |maybe |or )?(?:this |next )?(?:monday|tuesday|wednesday|thursday|friday)\b[^.!]*\?",
    r"\b(?:what|how) about (?:this |next )?(?:monday|tuesday|wednesday|thursday|friday|tomorrow|next week|later today)\b",
    r"\b(?:got|have|spare|give me) (?:a |two |a few |five |one )?(?:minutes?|moment|sec(?:ond)?s?)\b[^.!]*\?",
    r"\b(?:can|could|shall) (?:we|i) (?:talk|speak|chat|meet)\b",
    r"\b(?:put|pop|get|pencil|lock|add|book|drop|stick|throw|send)\b[^.?!]*\b(?:in(?:to)?|on) (?:the|your|my) (?:diary|calendar)\b",
    # a question or offer naming one concrete thing to agree to ("Any appetite for a quick look
    # over coffee?", "Would a three-minute video be easier?"); not a question about the past
    rf"(?:^|(?<=[.!?])\s+)(?!\W*{FILLER_WORDS}(?:what(?!\s+(?:about|if))|how(?!\s+about)|why|which|who|where|when|did|have|has|had|was|were)\b)"
    rf"(?![^.!?]*\b(?:can|could|may|mind if) i ask\b)[^.!?]*\b(?:a|an|one)\s+(?:[\w'-]+\s+){{0,4}}?{OFFER_OBJECT}\b[^.!?]*\?",
    r"\bi(?: can| could| would|'d be happy to| am happy to|'m happy to)? (?:just |quickly |also |always )?(?:show you|walk you through|demo it|drop|set up|book|pop|send (?:you |over )?(?:an? |the )?(?:calendar )?invite)\b[^.!?]*(?:\?|\b(?:calendar|diary|now|today|tomorrow|call|zoom|demo|meeting|monday|tuesday|wednesday|thursday|friday)\b)",
    r"\bi(?:'ll| will) (?:suggest|propose|offer|include) (?:a (?:couple|few) of |some |two |three )?(?:times|slots|dates)\b",
    r"\b(?:have|get|ask) (?:my|a|one of my|our) (?:colleague|manager|team|specialist|boss|account (?:manager|executive)|partner)s?\b[^.?!]*\b(?:reach out|call|contact|ring|email|get in touch|speak|talk|meet)",
    r"\bloop(?:ing)? (?:in|you in)\b[^.?!]*\?",
    rf"\bwould (?:a|an|the)\b[^.?!]*{OFFER_OBJECT}[^.?!]*\b(?:be (?:easier|better|okay|ok|alright|possible|simpler|useful|helpful)|suit|help)\b",
    r"\bplaceholder\b", r"\b(?:pencil|lock) (?:in|something|a (?:date|time|call|slot))\b",
    r"\b(?:does|would|will|is) (?:this |next )?(?:monday|tuesday|wednesday|thursday|friday|tomorrow|next week)\b[^.?!]*\b(?:work|be better|suit)",
    r"\b(?:\d+|one|two|five|ten|fifteen|twenty|thirty|a few|a couple of) (?:more )?(?:sec(?:ond)?s?|min(?:ute)?s?)\b[^.!]*\?",
    r"\bgive me (?:one|a|two|\d+|five|ten) (?:more )?(?:sec(?:ond)?|min(?:ute)?)",
    rf"\bwhat if (?:we|i)\b[^.?!]*{ASK_OBJECT}",
    rf"\bwould (?:a|an|the)\b[^.?!]*{ASK_OBJECT}[^.?!]*\bwork\b",
    rf"\b(?:any chance|would you)\b[^.?!]*\b(?:take|do|have|join)\b[^.?!]*{ASK_OBJECT}",
    r"\bcan we do (?:it|this) (?:now|today|quickly)\b",
    r"\b(?:sign|commit)\b[^.?!]*\b(?:this (?:week|month|quarter)|today|now|by (?:friday|the end))\b",
    rf"\bconfirm\b[^.?!]*{ASK_OBJECT}", r"\b(?:see|watch) a (?:quick |short )?(?:demo|walkthrough)\b",
    r"\blet me (?:just )?(?:book|schedule|set up|pencil|lock|put you down)\b", r"\b(?:can|could|may) i (?:just )?show you\b",
    rf"\bi'd (?:love|like) to (?:show you|walk you through|book|set up|schedule|get you|grab|demo)\b[^.?!]*\b(?:{ASK_OBJECT}|{WHEN})",
    r"\bwhy don't (?:we|i)\b[^.?!]*\b(?:book|schedule|set up|grab|get|find|do|have|meet|talk|try|jump|hop|put|pencil)\b",
    r"\b(?:would|are) you (?:be )?(?:open|up for|willing)\b[^.?!]*\b(?:to )?(?:tak(?:e|ing) a (?:quick |closer )?look|trying|try)\b",
    r"\bare you (?:around|about)\b[^.?!]*\?",
    r"\b(?:get|send|start) (?:over |you )?(?:the )?(?:contract|paperwork|order form)\b",
    # a calendar hold or invite however it is sent ("Shall I fire a hold across?", "I'll stick a hold in")
    r"\b(?:calendar|diary|meeting) (?:hold|invite|invitation|placeholder)\b",
    r"\b(?:send|fire|stick|drop|pop|put|pencil|slot|throw|shoot|get)\b[^.?!]{0,30}\b(?:a|an|the) (?:hold|invite|invitation)\b",
    r"\b(?:link|page) to book\b", r"\bbooking (?:link|page)\b", r"\bcalendly\b",
    r"\b(?:slots?|times|dates)\b[^.?!]*\bfor (?:a|the|our) (?:call|chat|meeting|demo|walkthrough)\b",
    # a visit, or showing and presenting it to them ("What if I came down to the office?", "let me put it in front of her")
    r"\b(?:i|we|me)\b[^.?!]{0,20}\b(?:c[oa]me (?:down|by|over|in(?! (?:way |a bit |far |much )?too\b)|out|round)|pop(?:ped|ping)? (?:by|in|over|round)|"
    r"drop(?:ped|ping)? (?:by|in)|swing(?:ing)? by|stop(?:ped|ping)? by|visit(?:ed|ing)?)\b",
    r"\b(?:what if|how about|could|can|shall|would it help if|let me|i'd like to|i'd love to)\b[^.?!]*\b(?:i|me|we)\b[^.?!]*\b"
    r"(?:walk(?:ed)? (?:you|her|him|them|the team) through|show(?:ed)? (?:you|her|him|them)|put (?:it|this) in front of|present(?:ed)? (?:it|this|to))\b",
    # an event seat, or a free piece of work that needs their time ("a webinar seat", "a free audit", "a proposal")
    r"\b(?:let me|i'll|i will|i can|i could|shall i|can i|could i|could we|can we|would you like)\b[^.?!]*\b"
    r"(?:put together|prepare|draw up|save|book|reserve|run|do|offer|get you|hold)\b"
    r"[^.?!]*\b(?:proposal|quote|audit|assessment|benchmark|webinar|workshop|roundtable|seat|place|health check)\b",
    # time asked for in a statement ("Ten minutes on Thursday and you'd be ahead of it.", "Even twenty minutes, please.")
    rf"(?:^|(?<=[.!?])\s+)(?![^.!?]*\b(?:what|how|why|which|help me understand|tell me)\b)[^.!?]*"
    rf"(?<!\bin )(?<!\bevery )(?<!\bfor the last )\b(?:{NUMBER}|a few|few|a couple of) min(?:ute)?s?\b(?![^.?!]*\b(?:ago|late|early|each|a day|a week|per)\b)",
    r"\b(?:half an hour|an hour|quarter of an hour)\b(?![^.?!]*\b(?:ago|late|a day|a week|per)\b)",
    # a call the rep schedules to go through it, or a day and a clock time ("I'll ring you Monday to go through it")
    r"\b(?:ring|call|phone|telephone|buzz)\b[^.?!]*\b(?:to (?:go through|discuss|talk (?:it |this )?through|walk (?:you )?through|book|review)|"
    r"and (?:we'll|we can|we could) (?:book|go through|talk|discuss|set))\b",
    r"\b(?:we'll|we can|we could|let's) (?:talk|go|run|walk) (?:it |this |them )?through\b",
    DAY_AT_TIME,
    r"\bput you down for\b", r"\b(?:set|sign) you up (?:with|for)\b", r"\b(?:sandbox|trial account|free account|showcase|open day)\b[^.?!]*\?",
)
FOLLOW_UP_PERMISSION = any_of(
    r"\b(?:would it be (?:ok|okay|alright|all right)|is it (?:ok|okay|alright)|mind if|may i|can i|could i|"
    r"would you mind if i|okay if i|alright if i)\b[^.?!]*\b(?:check(?:ed|ing)? (?:back|in)|follow(?:ed|ing)? up|"
    r"reach(?:ed|ing)? (?:back )?out|call(?:ed|ing)? (?:you )?(?:back|again)|circle(?:d)? back|touch(?:ed)? base|"
    r"tr(?:y|ied) (?:you )?again|sen[dt]|email(?:ed)?|drop(?:ped)? you|rang|ring)",
    r"\b(?:when|what) (?:would be|is|'s) (?:a )?(?:better|good|the best|best) (?:time|day|moment|month)\b",
    r"\bwhen (?:should|could|can|would) i (?:call|try|reach|check|follow)",
    # "I'll reach out in February, if that's okay?", "Ping you in April?", "so I can check back then?"
    r"\b(?:check(?:ing)? (?:back|in)|follow(?:ing)? up|reach(?:ing)? (?:back )?out|circle back|touch base|call you back|"
    r"ping you|try you again|give you a (?:call|ring|bell|shout))\b[^.!?]*\?",
    r"\bbetter time\b", r"\b(?:would|will|is|are)\b[^.?!]*\bbetter (?:in|next|after|around|later|once)\b",
    r"\b(?:which|what) (?:day|time|date|week|month)s?\b[^.?!]*\b(?:works?|suits?|better|best)\b[^.?!]*\b(?:for you|to call|to ring|to try)\b",
)
#: Questions about how to reach them (address, inbox): logistics, not their view.
CONTACT_LOGISTICS = any_of(r"\b(?:address|inbox|which e-?mail|work e-?mail|best e-?mail|spell|spelling)\b")
#: After a "not now", a bare time ("Early April okay?") asks which later time suits.
TIME_ONLY = any_of(
    r"^\W*(?:(?:so|and|sure|maybe|then|okay|ok),?\s+)*(?:(?:in|on|around|early|late|mid|next|after|the|first|second)[\s-]+)*"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|spring|summer|"
    r"autumn|fall|winter|new year|quarter|month|week)\b[^.!?]{0,20}\?$",
)
ACCEPT_NO = any_of(
    r"\b(?:understood|fair enough|no problem|no worries|totally fair|that's fair|makes sense|i hear you|"
    r"i'll let you go|i won't (?:keep|take up)|i respect that|got it|i get it|point taken|of course|"
    r"i'll leave it there|i won't push|thanks for your time|thank you for your time|appreciate (?:your|the) (?:time|honesty))\b",
)
ACKNOWLEDGE = any_of(
    r"\b(?:i understand|i hear you|that makes sense|makes sense|fair (?:enough|point)|that's fair|totally get|"
    r"i get (?:it|that)|good point|sounds like|i appreciate|that's (?:a )?(?:real|big|reasonable|fair))\b",
)
CONDESCEND = any_of(
    r"\bwith (?:all due )?respect\b", r"\bno offen[cs]e\b", r"\byou(?:'re| are) (?:wrong|mistaken)\b",
    r"\bthat's (?:not|simply not) (?:true|right|correct|how)\b", r"\byou (?:just |simply |clearly )?(?:don't|do not) (?:understand|get|see)\b",
    r"\bwith (?:the )?greatest respect\b", r"\bif you (?:actually|really|just) (?:looked|listened|knew)\b", r"\blet me (?:explain|educate)\b",
    r"\bwhat you(?:'re| are) missing\b", r"\byou(?:'re| are) missing (?:the|out)\b", r"\bthat's a mistake\b",
    # talking down, lecturing, sarcasm (rubric: composure 2)
    r"\byou(?:'re| are) (?:just )?kidding yourself\b", r"\byou(?:'re| are) (?:making|about to make) a (?:big |huge )?mistake\b",
    r"\b(?:short[- ]sighted|naive|narrow[- ]minded|behind the times)\b", r"\bdon't (?:say|tell me) i didn't warn you\b",
    r"\byou (?:clearly|obviously) (?:haven't|have not|don't|do not|aren't|are not|have no|never)\b", r"\bdon't be like that\b",
    r"\byou could(?:'ve| have) just\b", r"\byou should(?:'ve| have) (?:just |at least )?\w+", r"\brude\b", r"\bgrow up\b",
    r"\bseriously\?", r"\boh,? (?:great|sure|please|really)\b(?!,? (?:no problem|no worries|of course|thing|thanks))",
    r"\bwow,? (?:okay|ok|rude|really|generous|thanks|great)\b", r"\bgood luck (?:with that|doing|getting|trying|finding)\b",
    r"\bhow generous\b", r"\b(?:closed|small)[- ]minded\b", r"^\W*(?:oh )?come on\b", r"\bcome on,",
    r"\bsure you (?:are|do|have)\b", r"\bif you say so\b", r"\bi'm (?:just|only) trying to help\b",
    # sarcasm, lecturing and guilt in plain words ("Must be restful…", "What you need to understand…")
    r"\bmust be (?:nice|restful|lovely|great|easy)\b", r"\bof course you (?:are|do|can|have|would)\b", r"\benjoy\b[^.?!]*\b(?:forever|then)\b",
    r"\bin this day and age\b", r"\bnot rocket science\b", r"\bi'll (?:just )?assume\b", r"\bthe least you could do\b", r"\bnothing but (?:polite|patient|helpful|nice)\b",
    r"\b(?:there's )?no need to be (?:so )?(?:short|rude|like that|snippy|hostile)\b", r"\b(?:a bit|pretty|rather) harsh\b", r"\bwho even\b",
    r"\byou'd know (?:that )?if you(?:'d)?\b", r"\bmake (?:this|it) (?:really |very |nice and )?simple for you\b",
    r"\byou(?:'re| are) making (?:this|it) harder\b", r"\byou (?:really )?need to understand\b", r"\blet me slow (?:this|it) down\b",
    r"(?:^|[.!?]\s+)brilliant[.!]", r"\bi'm sure (?:the|your|you|it|that)\b[^.?!]*\b(?:aren't|isn't|don't|doesn't|won't|never)\b",
    r"\?!",
)
#: Shouting: words in capitals ("It's a MONITORING SYSTEM"), matched case-sensitively.
SHOUT = re.compile(r"\b[A-Z]{3,}\b[^.?!]*\b[A-Z]{3,}\b|\b[A-Z]{6,}\b")
ARGUE = any_of(
    r"\bactually\b", r"\bare you sure\b", r"\bi disagree\b", r"\bhonestly,? (?:you|that)\b",
    r"\bbut (?:you (?:said|told|just|don't|haven't|can't|won't)|that's|we)\b",
    # defending and justifying, dismissing what they said (rubric: composure 3)
    r",\s*you know\s*[.!]*\s*$", r",\s*you know[.!]", r"\bhard to believe\b", r"\byou haven't even\b", r"\bisn't perfect\b",
    r"\b(?:our|the) price is (?:fair|competitive|reasonable|justified)\b", r"\bfor what you get\b", r"\bis too low\b",
    r"\bwe can't go (?:there|that low|lower)\b", r"\bi did say\b",
    r"\bi (?:get|hear|understand|see) (?:that|you|it),? but (?!could|can|would|what|how|maybe|if|i'll|let)",
    r"\bthe (?:truth|reality|fact) is\b", r"\bif you (?:actually|really|just) (?:looked|listened|knew)\b",
    r"\bi think you(?:'ll| will)? (?:find|see)\b", r"\bnot quite\b", r"\bbetter than (?:them|yours|what you)\b",
    r"\bwe do all that\b", r"\bthat's (?:exactly )?why you need\b", r"\bthe problem is\b",
    r"^\W*to be fair\b", r"\bmost of (?:our|my|the) (?:clients|customers|users)\b[^.?!]*\b(?:said|say|thought|felt)\b",
    r"\b(?:everyone|everybody) says (?:that|so)\b", r"\bi'd (?:push back|disagree|challenge)\b", r"\byou'd be surprised\b",
    r"\bjust to be clear,? though\b", r"\bexactly when\b", r"\bnow is (?:the|exactly the) (?:time|moment)\b",
    r"\byou don't even know\b", r"\bdo the math\b", r"\b(?<!excuse )excuse\b(?! me)", r"\byou get what you pay for\b",
    r"\bi (?:get|hear|understand|see|know) (?:that )?you(?:'re| are) [^.?!,]{1,25},? but (?!could|can|would|what|how|maybe|if|i'll|let)",
    # correcting them: "Honestly, logins alone won't…", "Thing is, …", "…, is it?" after a contradiction
    SENTENCE_START + r"honestly,", r"\bhonestly,? though\b", SENTENCE_START + r"(?:the )?thing is,", r"\bsunk cost\b",
    r"\b(?:delays?|postpones?) the inevitable\b", r"\bisn't (?:the usual|a cold|really)\b",
    r",\s*(?:is|isn't|does|doesn't|are|aren't|was|wasn't|did|didn't) (?:it|that|they|there)\?\s*$",
)
HOSTILE = any_of(
    r"\b(?:ridiculous|stupid|idiot\w*|moron\w*|dumb|pathetic|clueless|incompetent|ignorant)\b", r"\byour loss\b",
    r"\bwaste of (?:my|our) time\b", r"\bget a grip\b", r"\bshut up\b", r"\bthanks for nothing\b",
    r"\bwhatever\b(?!,? (?:works|suits|is (?:easiest|best)|you (?:need|want|prefer|think|decide|say)))",
    r"\bno wonder\b", r"\blazy\b", r"\bdinosaur\b", r"\bfine,? be that way\b", r"\byou people\b", r"\b(?:damn|hell|crap)\b",
    # blaming and mocking the prospect (rubric: composure 1)
    r"\bwhy are you being (?:so )?\w+", r"\bcop[- ]out\b", r"\b(?:that's|it's) (?:just )?an excuse\b", r"\blame excuse\b",
    r"^\W*typical\b", r"\btypical (?:\w+ )?(?:person|people|type|guy|answer|response|excuse|manager|buyer)s?\b",
)
WELL = any_of(r"^\W*well,")
CAVES = any_of(
    r"\b(?:ask|check with|talk to|speak to) my (?:manager|boss)\b", r"\b(?:we can|i can|happy to) (?:definitely |just )?drop (?:it|the price)\b",
    r"\bwhatever works\b", r"\bi'm not sure\b", r"\boh gosh\b",
)
#: Urgency that presses without asking ("prices go up in January"); "come on" and "anyway" only press an ask.
URGENCY = any_of(
    r"\btoo late\b", r"\b(?:price|prices|pricing)\b[^.?!]*\b(?:go(?:es|ing)? up|increas\w*|rises?|rising|changes?)\b",
    r"\blast chance\b", r"\bends? (?:today|this week|friday)\b", r"\bspots? left\b", r"\byou(?:'ll| will) regret\b",
    r"\byou(?:'re| are) missing out\b", r"\bwaiting (?:will|would|is going to) cost\b",
    r"\b(?:i'll|i will|i'm going to|let me)\b[^.?!]*\banyway\b",
)
#: Sarcasm and parting shots: composure 2, but on their own they argue nobody out of anything.
JAB = any_of(
    r"\bwow,? (?:okay|ok|rude|really|generous|thanks|great)\b", r"\bgood luck (?:with that|doing|getting|trying|finding)\b",
    r"\bdon't (?:say|tell me) i didn't warn you\b", r"\bif you say so\b", r"\bhow generous\b", r"\bthanks for nothing\b",
    r"\boh,? (?:great|sure|please|really)\b",
)
#: The prospect is busy right now (a question on the way out is one extra ask of their time).
BUSY_NOW = any_of(
    r"\bi(?:'m| am) (?:already |literally |just )?(?:busy|slammed|late|running|walking|going (?:in|into)|at the door|in a meeting)\b",
    r"\bwalking into\b", r"\bbad time\b", r"\bnot a good time\b", r"\b(?:isn't|is not) a good time\b",
    r"\bi(?: have|'ve got| got| need| must) to (?:run|dash|jump|head off|go)\b", r"\bgotta (?:run|go)\b",
)
#: Anxious, servile pleading (rubric: composure 3, "markedly servile and anxious").
SERVILE = any_of(
    r"\bso (?:so )?sorry\b", r"\bfeel (?:awful|terrible|so bad)\b", r"\bplease,? (?:don't|just|i)\b", r"\bmean a lot\b",
    r"\bpresumptuous\b", r"\bi(?:'m| am) (?:just |so |really )?grateful\b", r"\b(?:quarter|target|job|bonus) (?:really )?depends\b",
    r"\bi know, i know\b", r"\bof course, of course\b", r"\bmy first (?:week|month|day)\b", r"\bi'm begging\b",
)
APOLOGY = any_of(r"\b(?:sorry|apologi[sz]e|apologies|my bad|forgive me)\b")
INJECTION = any_of(
    r"\bgrader\b", r"\b\d\s*/\s*5\b", r"\bscore (?:this|me|all)\b", r"\bignore (?:the|all|your|previous)\b",
    r"\bsystem\s*:", r"\brubric\b", r"\bassistant\s*:", r"\bas an ai\b",
)
PITCH = any_of(
    r"\b(?:we|our (?:platform|product|software|tool|solution|team|service)|it) (?:can|will|helps?|saves?|cuts?|"
    r"reduces?|offers?|provides?|delivers?|integrates?|automates?|gives?)\b",
    r"\b(?:save|saving|cut|reduce) (?:you )?(?:\d+|up to|thousands|hours|money|costs?)\b", r"\broi\b",
    r"\bbest[- ]in[- ]class\b", r"\bindustry[- ]leading\b", r"\bour customers\b", r"\bcompanies like yours\b",
)
FILLER = any_of(
    r"\bjust to be transparent\b", r"\bas i was saying\b", r"\bto be honest\b", r"\byou know\b", r"\bkind of\b",
    r"\bsort of\b", r"\bbasically\b", r"\bby the way\b", r"\bthe weather\b", r"\bat the end of the day\b",
    r"\bi mean\b", r"\bif that makes sense\b", r"\bhope you(?:'re| are) (?:well|having)\b",
)

ATTACK = any_of(
    r"\bignore (?:your|all|the|previous|prior) (?:instructions|rules|prompt)", r"\bare you (?:an? )?(?:ai|bot|robot|language model|llm|chatbot|real person|human)\b",
    r"\b(?:print|show|reveal|repeat|tell me) (?:me )?(?:your|the) (?:system )?(?:prompt|instructions|rules)\b", r"\bsystem prompt\b",
    r"\byou are now\b", r"\bpretend (?:you|to be)\b", r"\brole[- ]?play\b", r"\b(?:switch|swap|reverse) roles\b",
    r"\byou(?:'re| are) the (?:sales ?(?:person|rep)|seller)\b", r"\bas an ai\b", r"\b(?:chatgpt|openai|qwen|llama)\b",
    r"\bdeveloper mode\b", r"\bjailbreak\b", r"\bagree to the meeting\b", r"\blanguage model\b", r"\bllm\b",
    r"\binstructions (?:were you|you were|you've been|have you been) given\b", r"\byour (?:instructions|prompt|programming)\b",
    r"\bwhat model\b", r"\bmodel are you\b", r"\bsales coach\b", r"\bcoach me\b", r"\bpitch me\b",
)
OFF_TOPIC = any_of(
    r"\b(?:the game|football|soccer|baseball|basketball|the match|weather|pizza|topping|favou?rite (?:food|movie|film|song|colou?r|team))\b",
    r"\b(?:tell me a joke|a joke|write me|python|function|javascript|code|poem|recipe|song|movie|netflix|horoscope)\b",
    r"\b(?:weekend plans|your weekend|holiday plans|vacation)\b",
)

PRESSURE = any_of(
    r"(?<!thanks )(?<!thank you )\banyway\b(?!,? right)", r"\bonly (?:takes|need) (?:\d+|a few|five|ten|fifteen)\b",
    r"\btoo late\b", r"\bi promise\b", r"\b(?:price|prices|pricing)\b[^.?!]*\b(?:go(?:es|ing)? up|increas\w*|rises?|rising|changes?)\b", r"\blast chance\b", r"\bends? (?:today|this week|friday)\b",
    r"\bbefore (?:the price|prices) go(?:es)? up\b", r"\bspots? left\b", r"\byou(?:'ll| will) regret\b", r"\bcome on\b",
    r"\byou(?:'re| are) missing out\b", r"\bno(?:-| )brainer\b", r"\bi insist\b", r"\bjust hear me out\b",
)
ONE_UP = any_of(
    r"\bwe do all that\b", r"\band more\b", r"\bbetter than\b", r"\bfar (?:better|superior)\b", r"\bunlike (?:them|fleetly)\b",
    r"\bbut we(?:'re| are| do| have| can)\b", r"\bwe(?:'re| are) (?:cheaper|faster|better|half the price)\b",
    r"\b(?:half|a third of|twice|three times) (?:the price|as fast|as good|as cheap|the speed)\b",
)

# Prospect-side markers.
REFUSAL = any_of(
    r"^\s*no\b", r"\bno[,.!]? (?:thanks|thank you)\b", r"\bnot interested\b", r"\bi said no\b", r"\bthe answer is no\b",
    r"\bno budget\b", r"\bwe(?:'re| are) (?:all )?(?:set|covered)\b", r"\bwe(?:'re| are) (?:happy|fine|good)(?: where we are)?,? (?:thanks|thank you)\b", r"\bnot (?:looking|in the market)\b",
    r"\bi(?:'m| am) not (?:going to|gonna|taking|doing|booking|interested)\b", r"\bwe(?:'re| are) not (?:going|interested|looking|switching|changing)\b",
    r"\bno,? (?:we|i)\b", r"\bpass\b", r"\bdon't need\b", r"\bnot for us\b", r"\bcan't (?:afford|justify|do)\b",
    r"\bno(?:t a)? chance\b", r"\bforget it\b", r"\bno meeting\b", r"\bwon't (?:be|happen)\b", r"\bnothing to discuss\b",
    r"\bnot happening\b", r"\bno new (?:tools?|vendors?|software|suppliers?|spend|projects?)\b", r"\bit's not going\b",
    r"[.!?,]\s+no\s*[.!]+\s*$", r"\bi(?:'ve| have)? (?:already |just )?(?:said|told you) (?:no|i can't|i'm not|email)\b",
    r"\bhow many times\b", r"\bi don't want (?:it|this|that|whatever|any|anything|to (?:buy|meet|talk|switch|change|see))\b",
    r"\bi don't do (?:this|that|sales calls|demos)\b", r"^\W*stop\b", r"\basking again\b", r"\bi can't\b[^.?!]*\b(?:now|today|this)\b",
    r"^\W*(?:nope|nah)\b", r"\b(?:hard|firm|still a|still) no\b", r"\bleave it\b", r"\bwe(?:'re| are) sorted\b(?! for now)",
    r"\banswer (?:won't|will not|isn't going to|doesn't) change\b", r"\bi(?:'ll| will) pass\b",
    r"\bi don't (?:do|take) (?:cold|sales) calls\b",
    r"\bi(?:'m| am) not (?:buying|switching|changing|signing|paying|moving|adding|replacing|meeting|considering)\b",
    r"\b(?:no|zero) (?:bandwidth|capacity|appetite)\b", r"\bi(?:'m| am) going to stop you\b",
    r"\bwe(?:'re| are) out\b", r"\bwe(?:'ll| will) stay (?:on|with)\b", r"\bnot in this lifetime\b", r"^\W*never\b", r"\bdon't bother\b",
    r"\b(?:goes|go|has to go) through procurement\b", r"\b(?:speak|talk) to (?:procurement|purchasing|them)\b",
)
NOT_NOW = any_of(
    r"\bnot (?:right )?now\b", r"^\W*not really\b", r"\bnot a good time\b", r"\bbad time\b", r"\bcall (?:me )?(?:back )?(?:in|next|after|later|on)\b",
    r"\btry (?:me )?(?:again )?(?:in|next|after|later)\b", r"\b(?:maybe|perhaps) (?:later|next)\b",
    r"\bwalking into a meeting\b", r"\bi(?:'m| am) (?:busy|slammed|late|running)\b", r"\bnot this (?:year|quarter|week|month)\b",
    r"\b(?:rammed|swamped|slammed|snowed under|flat out|maxed out)\b",
    r"\b(?:next|new) (?:year|quarter|budget)\b", r"\bdon't have time\b", r"\bno time\b",
    r"\b(?:isn't|is not|not) a (?:good|great|convenient) (?:time|moment)\b",
    r"\b(?:call|ring|try|come back|get back to me|email|reach out|talk)\b[^.?!]*\b(?:in|after|from|until|till|before|around) "
    r"(?:early |late |mid[- ])?(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"spring|summer|autumn|fall|winter|the new year)\b",
    r"\b(?:call|ring|try) (?:me )?(?:back )?(?:again )?(?:on )?(?:monday|tuesday|wednesday|thursday|friday|tomorrow|tonight)\b",
    r"\bi(?:'m| am) (?:already |literally |just )?(?:busy|slammed|late|running|going (?:in|into))\b",
    # deferring: "We'll see. I'll let you know.", "I'll have to think about it", "not a priority"
    r"\bwe'll see\b", r"\bi(?:'ll| will) let you know\b", r"\b(?:i|we)(?:'ll| will)? (?:have to|need to) think (?:about|it over)\b",
    r"\bnot (?:a|our|my) (?:priority|focus)\b", r"\b(?:isn't|is not|aren't) (?:a|our) priority\b", r"\banother (?:day|time)\b",
)
STOP_CONTACT = any_of(
    r"\bsend (?:me )?(?:an )?e-?mail\b", r"\bemail me\b", r"\bdon't call\b", r"\bstop calling\b", r"\btake (?:me|us) off\b",
    r"\bremove (?:me|us)\b", r"\bi(?:'m| am) (?:hanging up|going to go|gonna go)\b", r"\bgoodbye\b", r"\bbye\b",
    r"\bi don't take cold calls\b", r"\bleave me alone\b", r"\bwe're done\b", r"\bthis call is over\b",
    r"\bi have to go\b", r"\bi(?:'ve| have) got to go\b", r"\bgotta go\b", r"\bhung up\b", r"\bhang(?:ing)? up\b",
    r"\bstop asking\b", r"\bdon't take (?:sales|cold) calls\b", r"\[\s*hangs? up\s*\]",
    r"\bi(?: have|'ve got| got| need| must) to (?:run|dash|jump|head off|go now)\b", r"\bgotta run\b", r"\bi must go\b",
    r"\b(?:just )?send me (?:something|some info|the info|details|an? (?:one-pager|deck|brochure))\b",
    r"\bdon't (?:ring|contact|phone)\b", r"\bwe(?:'re| are) (?:finished|done)\b", r"\bend(?:ing)? (?:this|the) call\b",
    r"\bor nothing at all\b", r"\bput it in (?:an )?e-?mail\b", r"\bno more calls\b", r"\bnot (?:on )?(?:my|this) (?:mobile|number|phone)\b",
)

#: An explicit request to stop all contact: selling on after it is restraint 1.
STOP_HARD = any_of(
    r"\bstop calling\b", r"\btake (?:me|us) off\b", r"\bremove (?:me|us)\b", r"\bleave me alone\b", r"\bno more calls\b",
    r"\bdon't want any more calls\b", r"\bdon't (?:ever )?(?:call|ring|contact|phone) (?:me|us|this number)(?: again)?\b",
    r"\bdo not (?:call|contact)\b", r"\b(?:number|me|us|name) removed\b",
)
#: A day with a clock time ("Friday at two", "tomorrow at nine"): pinning a time.
PINS_TIME = any_of(
    DAY_AT_TIME,
    r"\b(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(?::\d\d)?\s*(?:am|pm|o'clock)\b[^.?!]{0,30}\b(?:monday|tuesday|wednesday|thursday|friday|tomorrow)\b",
)
#: The rep promises to be quick and carries on ("I'll be super quick then. So basically…").
RUSHES = any_of(r"\bi(?:'ll| will) (?:be (?:super |really |very )?(?:quick|brief|fast)|keep it (?:short|brief|quick)|talk fast)\b", r"\bquick version\b")
#: The prospect says time is short: a monologue now is restraint 3.
TIME_SHORT = any_of(
    r"\bmake it quick\b", r"\bbe quick\b", r"\bquickly\b", r"^\W*(?:a|one) (?:minute|second)\b",
    r"\b(?:only|just) (?:have|got) (?:a|one|two|\d+|a few|five) (?:minute|min|second|sec)s?\b",
    r"\byou(?:'ve| have) got (?:a|one|two|\d+|thirty|sixty|a few|five) (?:minute|min|second|sec)s?\b",
    r"\b(?:meeting|call|flight|train) in (?:a|one|two|\d+|five|ten|a few) (?:minute|min)s?\b", r"\bin a hurry\b",
    r"\b(?:\d+|thirty|sixty|ten|twenty) seconds\b",
)
#: A soft objection (incumbent, price, need, effort): one light ask right after it is restraint 4, not 5.
OBJECTION = any_of(
    r"\b(?:happy|fine|good|set) with\b", r"\bwe(?:'re| are) (?:happy|fine|good)\b", r"\bwe(?:'ve| have)? (?:used|been using|got|run)\b",
    r"\bwe (?:use|already)\b", r"\balready (?:have|use|got|work with|built)\b", r"\bdoes the job\b", r"\bworks (?:fine|well|for us)\b",
    r"\b(?:too|way|very|so) (?:expensive|much|high|pricey)\b", r"\bover (?:our |the )?budget\b", r"\bbudget\b",
    r"\bmore than (?:i|we) (?:expected|thought|pay)\b", r"\b(?:can't|couldn't|hard to) justify\b", r"\bnot sure\b",
    r"\bdon't (?:see|think|need)\b", r"\bno need\b", r"\bfreeze\b", r"\bswitching\b", r"\bevery (?:vendor|supplier|one who calls)\b",
    r"\bquoted\b", r"\bcheaper\b", r"\bspreadsheets?\b", r"\brenewal\b", r"\bnobody has time\b", r"\bin-house\b",
)
