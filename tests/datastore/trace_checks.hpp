#pragma once

#include "datastore/datastore.hpp"

namespace mf::datastore::testing {

// Each replays the recorded reference exchanges of one kind against `datastore` (the fixture
// datastore, on disk or in S3), expects what the reference answered, and returns how many
// it compared.
int check_artifact_contents(const Datastore& datastore);
int check_parameters(const Datastore& datastore);
int check_dags(const Datastore& datastore);
int check_logs(const Datastore& datastore);
int check_log_downloads(const Datastore& datastore);
int check_task_refinement(const Datastore& datastore);
int check_cards(const Datastore& datastore);

}  // namespace mf::datastore::testing
