"""What agents believe and how it goes wrong: an agent's volatile working memory and its
loss mechanisms (:mod:`.context`), the injected fabrications of the plan
(:mod:`.hallucination`), and the ground truth agents cannot read with the auditor that
grades every fact they acted on (:mod:`.ground_truth`)."""
