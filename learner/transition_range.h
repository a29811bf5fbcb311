// Copies a range of transitions between the struct-of-arrays layouts the
// learner and the evaluator keep them in (learner::History, the windows an
// InProcessWindowSource fills, evaluator::Prompt): any struct with vectors
// obs (obs_dim values per transition), actions, rewards and dones.
#ifndef AD_LEARNER_TRANSITION_RANGE_H_
#define AD_LEARNER_TRANSITION_RANGE_H_

#include <cstdint>

namespace ad::learner {

// Appends transitions [begin, begin + count) of `from` to the end of `to`.
// The range must lie inside `from`.
template <typename From, typename To>
void AppendTransitions(const From& from, int64_t begin, int64_t count,
                       int obs_dim, To& to) {
  to.obs.insert(to.obs.end(), from.obs.begin() + begin * obs_dim,
                from.obs.begin() + (begin + count) * obs_dim);
  to.actions.insert(to.actions.end(), from.actions.begin() + begin,
                    from.actions.begin() + begin + count);
  to.rewards.insert(to.rewards.end(), from.rewards.begin() + begin,
                    from.rewards.begin() + begin + count);
  to.dones.insert(to.dones.end(), from.dones.begin() + begin,
                  from.dones.begin() + begin + count);
}

}  // namespace ad::learner

#endif  // AD_LEARNER_TRANSITION_RANGE_H_
