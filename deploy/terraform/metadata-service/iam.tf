# Who may assume the module's roles: ECS tasks (the task role) and Lambda (the migration
# function's role).
data "aws_iam_policy_document" "assume_role" {
  for_each = { task = "ecs-tasks.amazonaws.com", db_migrate = "lambda.amazonaws.com" }
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadDatastore"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.s3_bucket_arn, "${var.s3_bucket_arn}/*"]
  }

  statement {
    sid       = "DatastoreKey"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.datastore_s3_bucket_kms_key_arn]
  }

  statement {
    sid       = "DenyPresignedUrls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "s3:authType"
      values   = ["REST-HEADER"]
    }
  }
}

resource "aws_iam_role" "task" {
  name_prefix        = substr("${local.name}-task-", 0, 38)
  description        = "Task role of ${local.name}: reads the Metaflow datastore"
  assume_role_policy = data.aws_iam_policy_document.assume_role["task"].json
  tags               = var.standard_tags
}

resource "aws_iam_role_policy" "task" {
  name   = "${local.name}-datastore"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
